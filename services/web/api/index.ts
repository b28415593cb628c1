import Router from 'koa-router';
import type { WebRouter, WebState } from '../http/context.js';
import { adminRoutes } from './admin-routes.js';
import { changeRoutes } from './change-routes.js';
import { customerRoutes } from './customer-routes.js';
import type { ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { mountRoutes } from './mount.js';
import { sessionRoutes } from './session-routes.js';
import { openApiDocument } from './openapi.js';
import { vendorRoutes } from './vendor-routes.js';
import { webhookRoutes } from './webhook-routes.js';

export const API_VERSION = '1.0.0';

/** Every REST endpoint, in the order the OpenAPI document lists them. */
export function apiRoutes(deps: ApiDeps): ApiRoute[] {
  return [...customerRoutes(deps), ...vendorRoutes(deps), ...adminRoutes(deps), ...changeRoutes(deps), ...sessionRoutes(deps), ...webhookRoutes(deps)];
}

/**
 * The REST API under /api/v1: JSON, API tokens, the OpenAPI document at /api/v1/openapi.json
 * (public), and 405 with Allow for a known path with another method.
 */
export function apiRouter(deps: ApiDeps, publicUrl: () => string): WebRouter {
  const router = new Router<WebState>({ prefix: '/api/v1' });
  const routes = apiRoutes(deps);
  let document: Record<string, unknown> | undefined;
  router.get('/openapi.json', (ctx) => {
    ctx.state.route = '/api/v1/openapi.json';
    document ??= openApiDocument(routes, publicUrl(), API_VERSION);
    ctx.body = document;
  });
  mountRoutes(router, routes, deps.tokens, { maxBytes: deps.maxJsonBytes, maxDepth: deps.maxJsonDepth }, deps.checkResponses);
  return router;
}
