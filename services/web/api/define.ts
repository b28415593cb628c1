import type { z } from 'zod';
import type { Principal, Role } from '../auth/principal.js';
import type { WebContext } from '../http/context.js';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';
type Shape = z.ZodObject;

/** What a handler returns: a JSON body (200 unless `status` says otherwise), a redirect, or nothing (204). */
export type ApiResult =
  { status?: number; body: unknown; headers?: Record<string, string> } | { redirect: string; status: 303 | 307; body?: unknown } | { status: 204 };

/** One documented answer of a route: what it means and, for a JSON answer, the schema of its body. */
export interface ApiResponse {
  readonly description: string;
  readonly body?: z.ZodType;
}

export interface RouteInput<P extends Shape | undefined, Q extends Shape | undefined, B extends Shape | undefined, H extends Shape | undefined> {
  params: P extends Shape ? z.output<P> : Record<string, never>;
  query: Q extends Shape ? z.output<Q> : Record<string, never>;
  body: B extends Shape ? z.output<B> : undefined;
  headers: H extends Shape ? z.output<H> : Record<string, never>;
  principal: Principal;
  ctx: WebContext;
}

/**
 * One REST endpoint, described once: the router mounts it (validating params, query, headers and
 * body against its schemas before the handler runs) and the OpenAPI document is generated from it,
 * with the schema of every answer's body.
 */
export interface ApiRoute<
  P extends Shape | undefined = Shape | undefined,
  Q extends Shape | undefined = Shape | undefined,
  B extends Shape | undefined = Shape | undefined,
  H extends Shape | undefined = Shape | undefined,
> {
  readonly method: Method;
  /** Relative to /api/v1, koa-router style: `/artifacts/:id/download`. */
  readonly path: string;
  readonly summary: string;
  readonly tag: 'customer' | 'vendor' | 'admin' | 'webhooks';
  /** Who may call it. */
  readonly roles: readonly Role[];
  readonly params?: P;
  readonly query?: Q;
  /** Request headers the route reads (lowercase names; other headers are not its concern). */
  readonly headers?: H;
  /** A JSON body schema, or 'binary' for a streamed upload the handler reads itself. */
  readonly body?: B | 'binary';
  /** Status → its answer (errors are documented once for all). */
  readonly responses: Readonly<Record<number, ApiResponse>>;
  readonly handler: (input: RouteInput<P, Q, B, H>) => Promise<ApiResult>;
}

/** Defines a route with its types inferred from its schemas. */
export function route<
  P extends Shape | undefined = undefined,
  Q extends Shape | undefined = undefined,
  B extends Shape | undefined = undefined,
  H extends Shape | undefined = undefined,
>(definition: ApiRoute<P, Q, B, H>): ApiRoute {
  return definition as unknown as ApiRoute;
}

/** JSON 200. */
export const ok = (body: unknown): ApiResult => ({ body });
/** JSON 201. */
export const created = (body: unknown): ApiResult => ({ status: 201, body });
