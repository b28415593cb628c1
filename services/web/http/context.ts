import type Koa from 'koa';
import type Router from 'koa-router';
import type { Logger } from '../../../lib/log/logger.js';
import type { Principal } from '../auth/principal.js';

/** What every request carries through the middleware (koa's ctx.state). */
export interface WebState {
  /** The request's id: the client's X-Request-Id when it is sane, otherwise a new one. */
  requestId: string;
  /** The service logger, tagged with the request id. */
  log: Logger;
  /** Who is asking, once an auth middleware has established it. */
  principal?: Principal;
  /** How errors are answered: JSON (the API, the default) or an HTML page (the portal). */
  errorFormat?: 'json' | 'html';
  /** The route's template (`/api/v1/artifacts/:id/download`), for metrics and logs. */
  route?: string;
}

export type WebContext = Koa.ParameterizedContext<WebState, Router.IRouterParamContext<WebState>>;
export type WebRouter = Router<WebState>;
export type WebMiddleware = Koa.Middleware<WebState, Router.IRouterParamContext<WebState>>;
