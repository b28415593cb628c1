import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import type { Logger } from '../../../lib/log/logger.js';
import type { Principal } from '../auth/principal.js';
import { SECURITY_HEADERS } from '../http/app.js';
import { validate } from '../http/body.js';
import { answerFor, errorBody, errorHeaders } from '../http/error-edge.js';
import { recordRequest, requestIdOf } from '../http/request-log.js';
import type { WebMetrics } from '../ops/metrics.js';
import { customerRoutes } from './customer-routes.js';
import type { ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { answerOf, authenticate, checkResponse } from './mount.js';

/** The one path taken here (exactly; anything else, a query string included, goes to the router). */
const DOWNLOAD = /^\/api\/v1\/artifacts\/([0-9]{1,20})\/download$/;
const EMPTY = z.strictObject({});
const JSON_TYPE = 'application/json; charset=utf-8';

/** Takes a request (the promise of its answer, which never rejects) or leaves it to the koa application (undefined). */
export type FrontHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void> | undefined;

export interface FastDownloadOptions {
  log: Logger;
  metrics: WebMetrics;
  /** As the koa application: X-Forwarded-For names the client (the access log's ip). */
  trustProxy: boolean;
}

/**
 * `GET /api/v1/artifacts/:id/download` (the customer's 303 to a signed link) answered in front of
 * koa and its routers: the same route (customer-routes.ts: its role, its params schema, its
 * handler), the same token check (mount.ts `authenticate`), the same answer shaping (`answerOf`,
 * the error edge's `answerFor`/`errorHeaders`/`errorBody`), the same access log and metrics
 * (`recordRequest`), so every answer — 303, 400, 401, 403, 503 … — is the one the router gives,
 * byte for byte (test/web-entitlement-cache.test.ts compares them). What it saves is koa's
 * context, the middleware chain and the routers' matching, for the one request a customer's
 * download makes on every file.
 *
 * Invariant: nothing is decided here; a request that is not exactly this route and method is left
 * to koa untouched (nothing read, nothing written).
 */
export function fastDownload(deps: ApiDeps, options: FastDownloadOptions): FrontHandler {
  const route = customerRoutes(deps).find((r) => r.method === 'get' && r.path === '/artifacts/:id/download');
  if (!route) throw new Error('the download route is not defined');
  const template = `/api/v1${route.path}`;
  return (req, res) => {
    if (req.method !== 'GET' || req.url === undefined) return undefined;
    const match = DOWNLOAD.exec(req.url);
    if (!match) return undefined;
    return answer(req, res, route, match[1]!).catch((err: unknown) => {
      // Nothing in `answer` is meant to throw (errors become answers); should it, the socket goes.
      options.log.error('the fast download path failed', { err });
      res.destroy();
    });
  };

  async function answer(req: IncomingMessage, res: ServerResponse, r: ApiRoute, id: string): Promise<void> {
    const started = process.hrtime.bigint();
    const requestId = requestIdOf(req.headers['x-request-id'] as string | undefined);
    const ip = ipOf(req, options.trustProxy);
    const log = options.log.child({ requestId });
    const path = req.url!;
    let principal: Principal | undefined;
    res.setHeader('X-Request-Id', requestId);
    for (const [name, value] of SECURITY_HEADERS) res.setHeader(name, value);
    let recorded = false;
    const done = () => {
      if (recorded) return;
      recorded = true;
      recordRequest(log, options.metrics, {
        started,
        method: 'GET',
        path,
        route: template,
        status: res.statusCode,
        bytesIn: Number(req.headers['content-length']) || 0,
        bytesOut: Number(res.getHeader('content-length')) || 0,
        ip,
        principal: principal?.label,
      });
    };
    res.once('finish', done);
    res.once('close', done);
    let status: number;
    let headers: [string, string][];
    let body: unknown;
    try {
      const p = await authenticate(r, deps.tokens, req.headers.authorization ?? '', (established) => (principal = established));
      const params = validate(r.params ?? EMPTY, { id }, 'path');
      const result = await r.handler({ params, query: {}, body: undefined, headers: {}, principal: p, ctx: undefined as never });
      if (deps.checkResponses) checkResponse(r, result);
      ({ status, headers, body } = answerOf(result));
    } catch (err) {
      const failed = answerFor({ requestId, log, method: 'GET', path }, err);
      if (res.headersSent || !writable(res)) {
        log.warn('error after the response started', { err, code: failed.code });
        return;
      }
      status = failed.status;
      headers = errorHeaders(failed, err, path);
      body = errorBody(failed);
    }
    if (!writable(res)) return;
    for (const [name, value] of headers) res.setHeader(name, value);
    res.statusCode = status;
    if (body === undefined) {
      res.end();
      return;
    }
    const text = JSON.stringify(body);
    res.setHeader('Content-Type', JSON_TYPE);
    res.setHeader('Content-Length', Buffer.byteLength(text));
    res.end(text);
  }
}

/** koa's `ctx.writable`: the response is not ended and its socket (if any) is writable. */
function writable(res: ServerResponse): boolean {
  if (res.writableEnded) return false;
  return res.socket ? res.socket.writable : true;
}

/** koa's `ctx.ip`: with trustProxy the first X-Forwarded-For entry, else the peer's address. */
function ipOf(req: IncomingMessage, trustProxy: boolean): string {
  const forwarded = trustProxy ? req.headers['x-forwarded-for'] : undefined;
  const first = typeof forwarded === 'string' ? forwarded.split(',')[0]!.trim() : '';
  return first || req.socket.remoteAddress || '';
}
