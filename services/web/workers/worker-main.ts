/**
 * A web worker process (services.web.workers ≥ 2): it serves the portal, the API, /healthz and
 * /readyz on the port it shares with the other workers, with caches of its own dropped by a change
 * feed of its own. It reaches the internal-db, the file hosts and the sign-in limits only through
 * the primary (IPC; an upload's bytes over the primary's upload socket). The primary gone, it exits.
 */
import type { Server as NetServer } from 'node:net';
import type Koa from 'koa';
import { CryptoPool } from '../../../lib/crypto-pool/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import { PooledTicketSigner, TicketSigner } from '../../../lib/tickets/index.js';
import { runWorker, sendToParent, type WorkerServer } from '../../../lib/workers/worker-child.js';
import { ChangeFeed } from '../change-feed.js';
import type { FrontHandler } from '../api/fast-download.js';
import { createFrontEnd } from '../front-end.js';
import { Fulfillment } from '../fulfillment.js';
import type { WebState } from '../http/context.js';
import { WebHttpServer } from '../http/server.js';
import { WebMetrics } from '../ops/metrics.js';
import { HTTP_DEFAULTS } from '../service.js';
import { IpcCalls } from './ipc-calls.js';
import { RemoteLoginLimiter } from './remote-limiter.js';
import type { WebWorkerSettings } from './settings.js';
import { CATCH_UP, CATCH_UP_MS, type CallMessage, type LinkState, type PushMessage, type ReplyMessage, type WorkerNotice } from './wire.js';
import { WorkerDbLink } from './worker-db-link.js';
import { WorkerFileHosts } from './worker-file-hosts.js';

/** Messages that come before start has set things up are handled once it has. */
let receive: ((message: { type: string }) => void) | undefined;

function send(message: CallMessage | ReplyMessage | WorkerNotice): boolean {
  if (!process.connected) return false;
  sendToParent(message as unknown as { type: string } & Record<string, unknown>);
  return true;
}

/** Counts the requests in progress (outermost middleware), so a close can wait for them. */
function countRequests(app: Koa<WebState>): {
  readonly inFlight: () => number;
  readonly idle: () => Promise<void>;
  readonly counted: (front: FrontHandler) => FrontHandler;
} {
  let inFlight = 0;
  const waiters = new Set<() => void>();
  const ended = () => {
    if (--inFlight === 0) for (const done of [...waiters]) done();
  };
  app.middleware.unshift(async (_ctx, next) => {
    inFlight++;
    try {
      await next();
    } finally {
      ended();
    }
  });
  return {
    inFlight: () => inFlight,
    // The fast path's requests count too, from taken to answered.
    counted: (front) => (req, res) => {
      const answering = front(req, res);
      if (answering) {
        inFlight++;
        void answering.finally(ended);
      }
      return answering;
    },
    idle: () =>
      inFlight === 0
        ? Promise.resolve()
        : new Promise<void>((resolve) => {
            const done = () => {
              waiters.delete(done);
              resolve();
            };
            waiters.add(done);
          }),
  };
}

/** Methods that change nothing: a request with another is a write. */
const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Read your writes through one web host: a write that succeeded is answered only after every worker
 * of this host has applied the changes up to the internal-db's head (the primary asks each one's
 * change feed to catch up), so the next request sees it whichever worker takes it, as in one
 * process. Other web hosts see it within their feed's second.
 */
function seenByEveryWorker(app: Koa<WebState>, calls: IpcCalls): void {
  app.middleware.unshift(async (ctx, next) => {
    await next();
    if (READS.has(ctx.method) || ctx.status >= 400) return;
    await calls.call(CATCH_UP, {}, CATCH_UP_MS + 500).catch(() => undefined); // the primary gone: the feed's second, as for other hosts
  });
}

async function start(settings: WebWorkerSettings & { workerId: number }, socket: NetServer, log: Logger): Promise<WorkerServer> {
  const s = { ...HTTP_DEFAULTS, ...settings.http };
  const metrics = new WebMetrics({ worker: settings.workerId });
  const calls: IpcCalls = new IpcCalls('the primary', send, async (method): Promise<unknown> => {
    if (method === 'metrics') return metrics.registry.getMetricsAsJSON();
    if (method === CATCH_UP) return changes.catchUp();
    throw new Error(`the worker serves no ${method}`);
  });
  const db = new WorkerDbLink(calls);
  const fileHosts = new WorkerFileHosts({ calls, notify: send, upload: settings.upload, workerId: settings.workerId });
  const applyLinks = (state: LinkState) => {
    fileHosts.update(state.fileHosts);
    db.setConnected(state.internalDbUp);
  };
  receive = (message) => {
    if (calls.receive(message)) return;
    const push = message as PushMessage;
    if (push.type === 'links') applyLinks(push.state);
    else if (push.type === 'upload.stop') fileHosts.stop(push.upload);
  };
  process.once('disconnect', () => calls.fail());
  const crypto = settings.crypto;
  const pool = crypto?.ticketSigning ? new CryptoPool(crypto.threads > 0 ? { maxThreads: crypto.threads } : {}) : undefined;
  const changes = new ChangeFeed({ db, log, metrics });
  const fulfillment = new Fulfillment({
    db,
    fileHosts,
    signer: pool ? new PooledTicketSigner(pool, settings.ticketPrivateKeyPem) : new TicketSigner(settings.ticketPrivateKeyPem),
    ticketTtlSeconds: settings.ticketTtlSeconds,
    metrics,
    log,
    feedLive: () => changes.live,
  });
  changes.listen(fulfillment.listener);
  let closing = false;
  const { app, front } = createFrontEnd({
    db,
    fileHosts,
    fulfillment,
    changes,
    metrics,
    log,
    settings: s,
    sessionKeys: settings.http.sessionKeys,
    webhooks: settings.webhooks,
    httpUrl: () => settings.httpUrl,
    limiter: new RemoteLoginLimiter(calls, send),
    closing: () => closing,
  });
  const requests = countRequests(app);
  seenByEveryWorker(app, calls);
  const http = new WebHttpServer(app, {
    maxBodyBytes: Math.max(s.maxUploadBytes, s.maxJsonBytes),
    tls: settings.http.tls,
    hstsSeconds: s.hstsSeconds,
    front: requests.counted(front),
  });
  applyLinks(await calls.call<LinkState>('links', {}, 10_000));
  changes.start();
  await http.listenOn(socket);
  return {
    close: async (graceMs) => {
      // /readyz says 503 from now on (a load balancer takes this host out) while the requests in
      // progress finish; then the listener closes and what is left gets the rest of the grace.
      closing = true;
      const started = Date.now();
      if (requests.inFlight() > 0) await Promise.race([requests.idle(), new Promise((r) => setTimeout(r, graceMs).unref())]);
      await http.close(Math.max(0, graceMs - (Date.now() - started)));
      await changes.close();
      await pool?.close();
      metrics.close();
    },
  };
}

runWorker<WebWorkerSettings>({
  name: 'web',
  start,
  onMessage: (message) => receive?.(message),
});
