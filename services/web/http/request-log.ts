import { randomUUID } from 'node:crypto';
import type { Logger } from '../../../lib/log/logger.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { WebMiddleware } from './context.js';

const SANE_ID = /^[A-Za-z0-9._:-]{1,64}$/;

/**
 * The route label of a request no route took (404, 405, 501): every route that answers sets its
 * template in ctx.state.route (the API's mountRoutes, the portal's portalRoute, the ops routes).
 */
const UNMATCHED = 'unmatched';
/** The methods labelled by name; any other is labelled `other`. */
const METHODS = new Set(['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS']);

/**
 * The outermost middleware: gives each request an id (kept from X-Request-Id when sane, so a proxy's
 * id follows the request; echoed in the response), a logger tagged with it, one access-log line
 * when the response is done (method, route, status, bytes, ms; never the query, which may carry
 * secrets), and the request metrics.
 */
export function requestLog(log: Logger, metrics: WebMetrics): WebMiddleware {
  return async (ctx, next) => {
    const started = process.hrtime.bigint();
    const offered = ctx.get('x-request-id');
    const requestId = SANE_ID.test(offered) ? offered : randomUUID();
    const ip = ctx.ip; // read now: once the socket is gone koa's ctx.ip throws
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    let logged = false;
    const done = () => {
      // A response callback, run once (finished, or closed first): nothing in it may throw.
      if (logged) return;
      logged = true;
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      // Labels from a fixed set only: a path or a method the client chose would make a series each.
      const route = ctx.state.route ?? UNMATCHED;
      const bytesOut = Number(ctx.response.get('content-length')) || 0;
      metrics.observeRequest(METHODS.has(ctx.method) ? ctx.method : 'other', route, ctx.status, seconds, bytesOut);
      ctx.state.log[ctx.status >= 500 ? 'warn' : 'info']('request', {
        method: ctx.method,
        path: ctx.path,
        route,
        status: ctx.status,
        ms: Math.round(seconds * 1e6) / 1e3,
        bytesIn: Number(ctx.get('content-length')) || 0,
        bytesOut,
        ip,
        principal: ctx.state.principal?.label,
      });
    };
    ctx.res.once('finish', done);
    ctx.res.once('close', done);
    await next();
  };
}
