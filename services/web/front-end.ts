import type Koa from 'koa';
import type { Logger } from '../../lib/log/logger.js';
import { fastDownload, type FrontHandler } from './api/fast-download.js';
import { apiRouter } from './api/index.js';
import { ApiTokens } from './auth/api-tokens.js';
import type { ChangeFeed } from './change-feed.js';
import type { FileHostsView } from './file-hosts-view.js';
import type { Fulfillment } from './fulfillment.js';
import { createWebApp } from './http/app.js';
import type { WebState } from './http/context.js';
import type { InternalDbAsk } from './internal-db-ask.js';
import { opsRouter } from './ops/health.js';
import type { WebMetrics } from './ops/metrics.js';
import { createPortal } from './portal/index.js';
import type { SigninLimiter } from './portal/rate-limit.js';
import { SessionChecks } from './portal/session-checks.js';
import type { WebhookSettings } from './webhooks/settings.js';

/** The HTTP settings the app is built with (the fields of WebHttpSettings it reads). */
export interface FrontEndSettings {
  sessionMinutes: number;
  secureCookies: 'auto' | 'always' | 'never';
  trustProxy: boolean;
  loginFailuresPerAddress: number;
  loginFailuresPerLogin: number;
  loginMaxDelayMs: number;
  loginWindowSeconds: number;
  apiTokenCacheSeconds: number;
  sessionCheckCacheSeconds: number;
  maxJsonBytes: number;
  maxJsonDepth: number;
  maxUploadBytes: number;
  checkApiResponses: boolean;
}

export interface FrontEndOptions {
  db: InternalDbAsk;
  fileHosts: FileHostsView;
  fulfillment: Fulfillment;
  /** The feed that drops this process's caches (API tokens, session checks). */
  changes: ChangeFeed;
  metrics: WebMetrics;
  log: Logger;
  settings: FrontEndSettings;
  sessionKeys: readonly string[];
  webhooks: WebhookSettings;
  /** The base URL of the portal and the API. */
  httpUrl: () => string;
  /** The sign-in limits (a worker's: the primary's); absent: this process's own. */
  limiter?: SigninLimiter;
  /** True while the web host shuts down: /readyz answers 503. */
  closing?: () => boolean;
}

/**
 * The koa application of the HTTP port: the /healthz and /readyz routes, the REST API and the
 * portal, with this process's caches (API tokens, portal session checks) dropped by `changes`;
 * and `front`, the customer's download 303 answered in front of it (api/fast-download.ts). Built
 * the same way by the one process (workers = 1) and by each worker process.
 */
export function createFrontEnd(o: FrontEndOptions): { app: Koa<WebState>; front: FrontHandler } {
  const s = o.settings;
  const tokens = new ApiTokens(o.db, o.metrics, s.apiTokenCacheSeconds * 1000);
  const sessionChecks = new SessionChecks(o.db, s.sessionCheckCacheSeconds * 1000);
  o.changes.listen(tokens.listener);
  o.changes.listen(sessionChecks.listener);
  const log = o.log;
  const portal = createPortal({
    db: o.db,
    fulfillment: o.fulfillment,
    sessionChecks,
    metrics: o.metrics,
    log,
    sessionKeys: o.sessionKeys,
    sessionMinutes: s.sessionMinutes,
    secureCookies: s.secureCookies,
    loginFailuresPerAddress: s.loginFailuresPerAddress,
    loginFailuresPerLogin: s.loginFailuresPerLogin,
    loginMaxDelayMs: s.loginMaxDelayMs,
    loginWindowSeconds: s.loginWindowSeconds,
    maxFormBytes: s.maxJsonBytes,
    ...(o.limiter ? { limiter: o.limiter } : {}),
  });
  const apiDeps = {
    db: o.db,
    fulfillment: o.fulfillment,
    fileHosts: o.fileHosts,
    tokens,
    metrics: o.metrics,
    log,
    maxJsonBytes: s.maxJsonBytes,
    maxJsonDepth: s.maxJsonDepth,
    maxUploadBytes: s.maxUploadBytes,
    checkResponses: s.checkApiResponses,
    webhooks: o.webhooks,
  };
  const api = apiRouter(apiDeps, o.httpUrl);
  const app = createWebApp({
    log,
    metrics: o.metrics,
    keys: o.sessionKeys,
    trustProxy: s.trustProxy,
    routers: [opsRouter(o.db, o.fileHosts, o.metrics, { metrics: false, ...(o.closing ? { closing: o.closing } : {}) }), api, portal.router],
    errorPage: portal.errorPage,
  });
  return { app, front: fastDownload(apiDeps, { log, metrics: o.metrics, trustProxy: s.trustProxy }) };
}
