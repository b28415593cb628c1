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
    const requestId = requestIdOf(ctx.get('x-request-id'));
    const ip = ctx.ip; // read now: once the socket is gone koa's ctx.ip throws
    ctx.state.requestId = requestId;
    ctx.state.log = log.child({ requestId });
    ctx.set('X-Request-Id', requestId);
    let logged = false;
    const done = () => {
      // A response callback, run once (finished, or closed first): nothing in it may throw.
      if (logged) return;
      logged = true;
      recordRequest(ctx.state.log, metrics, {
        started,
        method: ctx.method,
        path: ctx.path,
        route: ctx.state.route,
        status: ctx.status,
        bytesIn: Number(ctx.get('content-length')) || 0,
        bytesOut: Number(ctx.response.get('content-length')) || 0,
        ip,
        principal: ctx.state.principal?.label,
      });
    };
    ctx.res.once('finish', done);
    ctx.res.once('close', done);
    await next();
  };
}

/** The request's id: the client's X-Request-Id when it is sane (a proxy's id follows the request), otherwise a new one. */
export function requestIdOf(offered: string | undefined): string {
  return offered !== undefined && SANE_ID.test(offered) ? offered : randomUUID();
}

/** What the access log and the request metrics are told of one answered request. */
export interface RequestRecord {
  /** process.hrtime.bigint() when it came in. */
  started: bigint;
  method: string;
  path: string;
  /** The route's template; undefined when no route took it. */
  route: string | undefined;
  status: number;
  bytesIn: number;
  bytesOut: number;
  ip: string;
  principal: string | undefined;
}

/**
 * One access-log line (method, route, status, bytes, ms; never the query, which may carry secrets)
 * and the request metrics, for a request done (the koa middleware above, and the API's fast path).
 * Nothing in it throws.
 */
export function recordRequest(log: Logger, metrics: WebMetrics, r: RequestRecord): void {
  const seconds = Number(process.hrtime.bigint() - r.started) / 1e9;
  // Labels from a fixed set only: a path or a method the client chose would make a series each.
  const route = r.route ?? UNMATCHED;
  metrics.observeRequest(METHODS.has(r.method) ? r.method : 'other', route, r.status, seconds, r.bytesOut);
  log[r.status >= 500 ? 'warn' : 'info']('request', {
    method: r.method,
    path: r.path,
    route,
    status: r.status,
    ms: Math.round(seconds * 1e6) / 1e3,
    bytesIn: r.bytesIn,
    bytesOut: r.bytesOut,
    ip: r.ip,
    principal: r.principal,
  });
}
