import Router from 'koa-router';
import type { FileHostsView } from '../file-hosts-view.js';
import type { WebRouter, WebState } from '../http/context.js';
import type { InternalDbAsk } from '../internal-db-ask.js';
import type { WebMetrics } from './metrics.js';

/**
 * Operations endpoints: /healthz (the process answers), /readyz (its commlinks are up: the
 * internal-db link and at least one file host; 503 with what is missing otherwise), and with
 * `metrics` /metrics (Prometheus text format): served on the operations listener only, never on
 * the public port. With `closing` (a web host shutting down), /readyz answers 503 at once; `text`
 * gives /metrics another source (the primary's sum over its workers).
 */
export function opsRouter(
  db: InternalDbAsk,
  fileHosts: FileHostsView,
  metrics: WebMetrics,
  serve: { metrics: boolean; closing?: () => boolean; text?: () => Promise<string> },
): WebRouter {
  const router = new Router<WebState>();
  router.get('/healthz', (ctx) => {
    ctx.state.route = '/healthz';
    ctx.set('Cache-Control', 'no-store');
    ctx.body = { status: 'ok' };
  });
  router.get('/readyz', (ctx) => {
    ctx.state.route = '/readyz';
    const hosts = fileHosts.list().filter((h) => !h.peer.closed);
    const checks = { internalDb: db.connected, fileHosts: hosts.map((h) => h.name) };
    const closing = serve.closing?.() ?? false;
    const ready = checks.internalDb && hosts.length > 0 && !closing;
    ctx.set('Cache-Control', 'no-store');
    ctx.status = ready ? 200 : 503;
    ctx.body = {
      status: ready ? 'ready' : 'not ready',
      ...checks,
      ...(ready ? {} : { missing: [...(checks.internalDb ? [] : ['internal-db']), ...(hosts.length ? [] : ['file host'])] }),
      ...(closing ? { closing: true } : {}),
    };
  });
  if (!serve.metrics) return router;
  router.get('/metrics', async (ctx) => {
    ctx.state.route = '/metrics';
    metrics.fileHosts.set(fileHosts.list().length);
    metrics.internalDbUp.set(db.connected ? 1 : 0);
    ctx.type = metrics.contentType;
    ctx.body = await (serve.text ?? (() => metrics.text()))();
  });
  return router;
}
