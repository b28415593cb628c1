import Router from 'koa-router';
import type { Logger } from '../../../lib/log/logger.js';
import type { HtmlErrorPage } from '../http/error-edge.js';
import type { WebRouter, WebState } from '../http/context.js';
import type { Fulfillment } from '../fulfillment.js';
import type { InternalDbLink } from '../internal-db-link.js';
import type { WebMetrics } from '../ops/metrics.js';

/** What the portal needs of the web host. */
export interface PortalDeps {
  db: InternalDbLink;
  fulfillment: Fulfillment;
  metrics: WebMetrics;
  log: Logger;
  /** Keys that sign session cookies, newest first (koa's app.keys is set from them too). */
  sessionKeys: readonly string[];
  sessionMinutes: number;
  secureCookies: 'auto' | 'always' | 'never';
  loginFailuresPerAddress: number;
  loginFailuresPerLogin: number;
  loginWindowSeconds: number;
  maxFormBytes: number;
}

export interface Portal {
  router: WebRouter;
  errorPage: HtmlErrorPage;
}

/** The customer portal (server-rendered HTML). */
export function createPortal(_deps: PortalDeps): Portal {
  const router = new Router<WebState>();
  return {
    router,
    errorPage: (_ctx, answer) => `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Error ${answer.status}</title></head><body><h1>${answer.status}</h1><p>${escape(answer.message)}</p><p>Request id ${escape(answer.requestId)}</p></body></html>`,
  };
}

function escape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}
