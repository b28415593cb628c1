import { z } from 'zod';
import { WebErrors } from '../errors.js';
import type { ApiTokens } from '../auth/api-tokens.js';
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
      const principal = await tokens.authenticate(ctx.get('authorization'));
      ctx.state.principal = principal;
      if (!r.roles.includes(principal.kind))
        throw WebErrors.FORBIDDEN(`${principal.kind} tokens may not ${r.method.toUpperCase()} ${ctx.state.route}; this needs a ${r.roles.join(' or ')} token`);
      const params = validate(r.params ?? EMPTY, { ...ctx.params }, 'path');
      const query = readQuery(ctx, r.query ?? EMPTY);
      const headers = r.headers ? validate(r.headers, headersOf(ctx, r.headers), 'header') : {};
      const body = r.body === undefined || r.body === 'binary' ? undefined : await readJson(ctx, r.body, json);
      if (r.body === undefined && r.method !== 'get' && r.method !== 'delete') await readJson(ctx, EMPTY, json);
      const result = await r.handler({ params, query, body, headers, principal, ctx } as never);
      if (checkResponses) checkResponse(r, result);
      ctx.set('Cache-Control', 'no-store');
      if ('redirect' in result) {
        ctx.status = result.status;
        ctx.set('Location', result.redirect);
        ctx.body = result.body ?? { location: result.redirect };
        return;
      }
      ctx.status = result.status ?? 200;
      if (result.status === 204) return;
      if ('headers' in result && result.headers) ctx.set(result.headers);
      ctx.body = (result as { body: unknown }).body;
    });
  }
}

/** Throws when an answer does not match what the route documents for its status. */
function checkResponse(r: ApiRoute, result: ApiResult): void {
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
