import { z } from 'zod';
import { WebErrors } from '../errors.js';
import type { ApiTokens } from '../auth/api-tokens.js';
import type { Principal } from '../auth/principal.js';
import { readJson, readQuery, validate, type JsonLimits } from '../http/body.js';
import type { WebContext, WebRouter } from '../http/context.js';
import type { ApiResult, ApiRoute } from './define.js';

const EMPTY = z.strictObject({});

/** The headers a route reads, by their lowercase names (each once: Node joins repeats with a comma). */
function headersOf(ctx: WebContext, schema: z.ZodObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of Object.keys(schema.shape)) {
    const value = ctx.get(name);
    if (value !== '') out[name] = value;
  }
  return out;
}

/**
 * Mounts the routes on `router`: for each, the route template is recorded (metrics, logs), the
 * bearer token is checked and its role matched, then params, query, headers and body are
 * validated, and only then the handler runs. Its result becomes the response. With
 * `checkResponses`, each JSON answer is also checked against the schema the route documents for its
 * status (a mismatch is an internal error): tests run so, to keep the OpenAPI document true.
 */
export function mountRoutes(router: WebRouter, routes: readonly ApiRoute[], tokens: ApiTokens, json: JsonLimits, checkResponses = false): void {
  for (const r of routes) {
    router[r.method](r.path, async (ctx) => {
      ctx.state.route = `/api/v1${r.path}`;
      const principal = await authenticate(r, tokens, ctx.get('authorization'), (p) => (ctx.state.principal = p));
      const params = validate(r.params ?? EMPTY, { ...ctx.params }, 'path');
      const query = readQuery(ctx, r.query ?? EMPTY);
      const headers = r.headers ? validate(r.headers, headersOf(ctx, r.headers), 'header') : {};
      const body = r.body === undefined || r.body === 'binary' ? undefined : await readJson(ctx, r.body, json);
      if (r.body === undefined && r.method !== 'get' && r.method !== 'delete') await readJson(ctx, EMPTY, json);
      const result = await r.handler({ params, query, body, headers, principal, ctx } as never);
      if (checkResponses) checkResponse(r, result);
      const answer = answerOf(result);
      for (const [name, value] of answer.headers) ctx.set(name, value);
      ctx.status = answer.status;
      if (answer.body !== undefined) ctx.body = answer.body;
    });
  }
}

/**
 * The bearer token checked (told to `established` as soon as it is) and its role matched against
 * the route's: the router's and the fast path's one check (fast-download.ts).
 */
export async function authenticate(r: ApiRoute, tokens: ApiTokens, authorization: string, established: (principal: Principal) => void): Promise<Principal> {
  const principal = await tokens.authenticate(authorization);
  established(principal);
  if (!r.roles.includes(principal.kind))
    throw WebErrors.FORBIDDEN(`${principal.kind} tokens may not ${r.method.toUpperCase()} /api/v1${r.path}; this needs a ${r.roles.join(' or ')} token`);
  return principal;
}

/** What a handler's result is answered with: status, headers in the order they are set, and the body (JSON; undefined: none). */
export function answerOf(result: ApiResult): { status: number; headers: [string, string][]; body: unknown } {
  if ('redirect' in result)
    return {
      status: result.status,
      headers: [
        ['Cache-Control', 'no-store'],
        ['Location', result.redirect],
      ],
      body: result.body ?? { location: result.redirect },
    };
  const headers: [string, string][] = [['Cache-Control', 'no-store']];
  if (result.status === 204) return { status: 204, headers, body: undefined };
  if ('headers' in result && result.headers) headers.push(...Object.entries(result.headers));
  return { status: result.status ?? 200, headers, body: (result as { body: unknown }).body };
}

/** Throws when an answer does not match what the route documents for its status. */
export function checkResponse(r: ApiRoute, result: ApiResult): void {
  const status = result.status ?? 200;
  const documented = r.responses[status];
  if (!documented) throw new Error(`${r.method.toUpperCase()} ${r.path} answered ${status}, which it does not document`);
  if (status === 204 || documented.body === undefined) return;
  const body = 'redirect' in result ? result.body : (result as { body: unknown }).body;
  const parsed = documented.body.safeParse(body);
  if (!parsed.success)
    throw new Error(
      `${r.method.toUpperCase()} ${r.path} ${status}: the answer does not match its documented schema: ${JSON.stringify(parsed.error.issues.slice(0, 3))}`,
    );
}
