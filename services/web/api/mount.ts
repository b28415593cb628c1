import { z } from 'zod';
import { WebErrors } from '../errors.js';
import type { ApiTokens } from '../auth/api-tokens.js';
import { readJson, readQuery, validate } from '../http/body.js';
import type { WebRouter } from '../http/context.js';
import type { ApiRoute } from './define.js';

const EMPTY = z.strictObject({});

/**
 * Mounts the routes on `router`: for each, the route template is recorded (metrics, logs), the
 * bearer token is checked and its role matched, then params, query and body are validated, and
 * only then the handler runs. Its result becomes the response.
 */
export function mountRoutes(router: WebRouter, routes: readonly ApiRoute[], tokens: ApiTokens, maxJsonBytes: number): void {
  for (const r of routes) {
    router[r.method](r.path, async (ctx) => {
      ctx.state.route = `/api/v1${r.path}`;
      const principal = await tokens.authenticate(ctx.get('authorization'));
      ctx.state.principal = principal;
      if (!r.roles.includes(principal.kind)) throw WebErrors.FORBIDDEN(`${principal.kind} tokens may not ${r.method.toUpperCase()} ${ctx.state.route}; this needs a ${r.roles.join(' or ')} token`);
      const params = validate(r.params ?? EMPTY, { ...ctx.params }, 'path');
      const query = readQuery(ctx, r.query ?? EMPTY);
      const body = r.body === undefined || r.body === 'binary' ? undefined : await readJson(ctx, r.body, maxJsonBytes);
      if (r.body === undefined && r.method !== 'get' && r.method !== 'delete') await readJson(ctx, EMPTY, maxJsonBytes);
      const result = await r.handler({ params, query, body, principal, ctx } as never);
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
