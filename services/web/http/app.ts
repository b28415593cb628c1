import Koa from 'koa';
import type { Logger } from '../../../lib/log/logger.js';
import { WebErrors } from '../errors.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { WebMiddleware, WebRouter, WebState } from './context.js';
import { errorEdge, type HtmlErrorPage } from './error-edge.js';
import { requestLog } from './request-log.js';

export interface WebAppOptions {
  log: Logger;
  metrics: WebMetrics;
  /** Keys for koa's signed cookies (the portal's session), newest first. */
  keys: readonly string[];
  /**
   * Trust X-Forwarded-For / X-Forwarded-Proto from the one proxy in front: the client's address is
   * the last of X-Forwarded-For, the one that proxy appended (what a client sent ahead of it is
   * its own claim, never believed).
   */
  trustProxy: boolean;
  /** In order: ops, API, portal. */
  routers: readonly WebRouter[];
  /** Error answers as HTML pages for browsers (the portal's); absent: always JSON. */
  errorPage?: HtmlErrorPage;
}

/** Headers every answer carries: no sniffing, no framing, no referrer leaking a path (in this order; the API's fast path sets them too). */
export const SECURITY_HEADERS: readonly (readonly [string, string])[] = [
  ['X-Content-Type-Options', 'nosniff'],
  ['X-Frame-Options', 'DENY'],
  ['Referrer-Policy', 'same-origin'],
];

const securityHeaders: WebMiddleware = async (ctx, next) => {
  for (const [name, value] of SECURITY_HEADERS) ctx.set(name, value);
  await next();
};

/** After the routers: a known path with another method is 405 (with Allow), an unknown method 501. */
const methodCheck: WebMiddleware = async (ctx, next) => {
  await next();
  if ((ctx.status === 405 || ctx.status === 501) && ctx.body === undefined) {
    throw WebErrors.METHOD_NOT_ALLOWED(
      `${ctx.method} is not allowed on ${ctx.path}${ctx.response.get('allow') ? `; allowed: ${ctx.response.get('allow')}` : ''}`,
      { allow: ctx.response.get('allow') },
    );
  }
};

/**
 * The web host's koa application: request ids, access log and metrics outermost, then the error
 * edge (the one place errors become HTTP answers), then the routers.
 */
export function createWebApp(options: WebAppOptions): Koa<WebState> {
  const app = new Koa<WebState>({ proxy: options.trustProxy, maxIpsCount: 1, keys: [...options.keys] });
  app.silent = true; // errors are logged by the error edge, with the request id
  app.use(requestLog(options.log, options.metrics));
  app.use(securityHeaders);
  app.use(errorEdge(options.errorPage));
  app.use(methodCheck);
  for (const router of options.routers) {
    app.use(router.routes());
    app.use(router.allowedMethods());
  }
  return app;
}
