import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ExecutionContext } from 'ava';
import type { KeyBag } from '../../lib/commlink/index.js';
import type { ChangeKind } from '../../lib/contracts/internal-db/changes.js';
import { silentLogger } from '../../lib/log/logger.js';
import type { ChangeSubject } from '../../services/internal-db/store/changes.js';
import { WebService } from '../../services/web/service.js';
import type { WebhookSettings } from '../../services/web/webhooks/settings.js';
import { ticketKeys } from './chain.js';
import { makeBag } from './commlink.js';
import type { DbFixture } from './internal-db.js';

/** Settings for tests: loopback and http allowed, quick retries, short leases. */
export const TEST_WEBHOOKS: Partial<WebhookSettings> = {
  allowHttp: true,
  allowPrivateTargets: true,
  retryMinMs: 50,
  retryMaxMs: 200,
  leaseSeconds: 2,
  timeoutMs: 5000,
};

/** A web host with its API (port 0) on `db`, delivering webhooks with `webhooks` over TEST_WEBHOOKS. */
export async function startWebHost(t: ExecutionContext, db: { port: number; bag: KeyBag }, webhooks: Partial<WebhookSettings> = {}): Promise<WebService> {
  const web = await WebService.start({
    host: '127.0.0.1',
    commlinkPort: 0,
    internalDb: { mode: 'listen', host: '127.0.0.1', port: db.port, dialListenHost: '127.0.0.1', dialListenPort: 0 },
    commlink: { reconnectMinMs: 20, reconnectMaxMs: 200 },
    bags: { fileHosts: makeBag(), internalDb: db.bag },
    ticketPrivateKeyPem: ticketKeys().privateKeyPem,
    ticketTtlSeconds: 300,
    http: { port: 0, opsPort: 0, apiTokenCacheSeconds: 0, checkApiResponses: true, sessionKeys: [randomBytes(32).toString('base64')] },
    webhooks: { ...TEST_WEBHOOKS, ...webhooks },
    log: silentLogger,
  });
  t.teardown(() => web.close(0));
  if (!(await web.db.waitConnected(5000))) throw new Error('the web host did not connect to the internal-db within 5 s');
  return web;
}

export interface Received {
  headers: IncomingMessage['headers'];
  body: string;
  /** The parsed body's id (the change sequence). */
  id: string;
  type: string;
  path: string;
}

export interface Receiver {
  url: string;
  received: Received[];
  close(): Promise<void>;
}

/**
 * A real HTTP server on loopback that receives deliveries. `respond` decides each answer (the
 * status, or 'hold' to keep the request open, never answered); default 200.
 */
export async function startReceiver(
  t: ExecutionContext,
  respond: (r: Received, n: number) => number | 'hold' | Promise<number | 'hold'> = () => 200,
): Promise<Receiver> {
  const received: Received[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let parsed: { id?: string; type?: string } = {};
      try {
        parsed = JSON.parse(body) as { id?: string; type?: string };
      } catch {
        // kept as it came
      }
      const r: Received = { headers: req.headers, body, id: String(parsed.id), type: String(parsed.type), path: req.url ?? '' };
      received.push(r);
      void Promise.resolve(respond(r, received.length)).then((answer) => {
        if (answer === 'hold') held.push(res);
        else res.writeHead(answer, { 'content-type': 'text/plain' }).end('ok');
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const close = async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  t.teardown(close);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`, received, close };
}

/** Records a change in the internal-db's log directly (as the operations do, in a transaction). */
export function recordChange(db: DbFixture, kind: ChangeKind, subject: ChangeSubject = {}): number {
  const store = db.service.store;
  return store.transaction(() => store.changes.record(kind, subject, { kind: 'admin', id: 'test' }));
}
