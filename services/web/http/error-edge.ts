import { WebErrors } from '../errors.js';
import type { WebContext, WebMiddleware } from './context.js';
import { httpStatusOf } from './status.js';
import { CodedError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/logger.js';

/** What an error answer says: the stable code, a message, the field at fault, the request id. */
export interface ErrorAnswer {
  status: number;
  code: string;
  message: string;
  field?: string | undefined;
  requestId: string;
}

export type HtmlErrorPage = (ctx: WebContext, answer: ErrorAnswer) => string;

/**
 * The protocol edge for errors: every error thrown below turns into an HTTP answer here, and only
 * here. Catalogued errors (the web host's, and the internal-db's and file host's passing through)
 * keep their code and message and get the status of http/status.ts. Anything else is logged whole
 * with the request id and answered generically (ERR_INTERNAL, 500): no stack or internal detail
 * reaches the client. A 404 nothing answered becomes ERR_ROUTE_NOT_FOUND.
 */
export function errorEdge(htmlPage: HtmlErrorPage | undefined): WebMiddleware {
  return async (ctx, next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) throw WebErrors.ROUTE_NOT_FOUND(`no page or endpoint at ${ctx.path}`);
    } catch (err) {
      const answer = answerFor({ requestId: ctx.state.requestId, log: ctx.state.log, method: ctx.method, path: ctx.path }, err);
      if (ctx.headerSent || !ctx.writable) {
        ctx.state.log.warn('error after the response started', { err, code: answer.code });
        return;
      }
      ctx.status = answer.status;
      for (const [name, value] of errorHeaders(answer, err, ctx.path)) ctx.set(name, value);
      const html =
        ctx.state.errorFormat === 'html' || (ctx.state.errorFormat === undefined && !ctx.path.startsWith('/api/') && ctx.accepts('json', 'html') === 'html');
      if (html && htmlPage) {
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = htmlPage(ctx, answer);
      } else {
        ctx.body = errorBody(answer);
      }
    }
  };
}

/** The request an error is answered for: what the answer and the log say of it. */
export interface ErrorRequest {
  requestId: string;
  log: Logger;
  method: string;
  path: string;
}

/** The headers of an error answer, in the order they are set (the API's fast path sets the same). */
export function errorHeaders(answer: ErrorAnswer, err: unknown, path: string): [string, string][] {
  const headers: [string, string][] = [];
  if (answer.status === 401 && path.startsWith('/api/')) headers.push(['WWW-Authenticate', 'Bearer realm="api"']);
  const retryAfter = (err as CodedError).details?.retryAfterSeconds;
  if (typeof retryAfter === 'number') headers.push(['Retry-After', String(retryAfter)]);
  if (answer.status === 405 && typeof (err as CodedError).details?.allow === 'string') headers.push(['Allow', (err as CodedError).details.allow as string]);
  headers.push(['Cache-Control', 'no-store']);
  return headers;
}

/** The JSON body of an error answer. */
export function errorBody(answer: ErrorAnswer): Record<string, unknown> {
  return { error: { code: answer.code, message: answer.message, ...(answer.field ? { field: answer.field } : {}) }, requestId: answer.requestId };
}

/** What an error is answered with (logged here when the caller is not meant to see it). */
export function answerFor(request: ErrorRequest, err: unknown): ErrorAnswer {
  const { requestId, log } = request;
  if (err instanceof CodedError) {
    const status = httpStatusOf(err.code);
    if (status < 500 || status === 503 || status === 504) {
      const field = typeof err.details.field === 'string' ? err.details.field : undefined;
      if (status >= 500) log.warn('request failed: a service is unavailable', { code: err.code, message: err.message });
      return { status, code: err.code, message: err.message, field, requestId };
    }
    if (status === 502) {
      // A service behind answered against its contract (or broke the protocol): the code says so,
      // the details stay in the log.
      log.error('request failed: a service behind answered unexpectedly', { err, method: request.method, path: request.path });
      return { status, code: err.code, message: `a service behind the web host answered unexpectedly (request id ${requestId})`, requestId };
    }
  }
  const httpError = err as { status?: number; expose?: boolean };
  if (!(err instanceof CodedError) && typeof httpError.status === 'number' && httpError.status >= 400 && httpError.status < 500 && httpError.expose) {
    // koa's own client errors (a malformed URL escape …): say what they are, with a code.
    const code = httpError.status === 413 ? WebErrors.BODY_TOO_LARGE.code : WebErrors.INVALID_INPUT.code;
    return { status: httpError.status, code, message: (err as Error).message, requestId };
  }
  log.error('request failed', { err, method: request.method, path: request.path });
  return { status: 500, code: WebErrors.INTERNAL.code, message: `internal error (request id ${requestId})`, requestId };
}
