import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { ExecutionContext } from 'ava';
import type { KeyBag } from '../../lib/commlink/index.js';
import { silentLogger, type Logger } from '../../lib/log/logger.js';
import { FileHostService, type FileHostOptions } from '../../services/ftp/service.js';
import { WebService, type WebHttpSettings } from '../../services/web/service.js';
import { makeBag } from './commlink.js';
import { startInternalDb, type DbFixture } from './internal-db.js';
import { waitFor } from './wait.js';

export { waitFor };

let keys: { privateKeyPem: string; publicKeyPem: string } | undefined;

/** One RSA key pair per test process (2048 bits: fast to make, same code path as 3072). */
export function ticketKeys(): { privateKeyPem: string; publicKeyPem: string } {
  keys ??= (() => {
    const pair = generateKeyPairSync('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    return { privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
  })();
  return keys;
}

export interface Chain extends DbFixture {
  /** The bag of the web host ↔ file host link (`bag` is the internal-db link's). */
  fileHostBag: KeyBag;
  web: WebService;
  fileHost: FileHostService;
  /** The file host's data folder (repository, areas, inbox). */
  fileDir: string;
}

export interface ChainOptions {
  fileHost?: Partial<FileHostOptions>;
  /** Runs the web host's portal and REST API (on port 0) with these settings. */
  webHttp?: Partial<WebHttpSettings> & { workers?: number };
  /** The portal's session keys (default: random ones of this web host's own). */
  sessionKeys?: string[];
  log?: Logger;
}

/**
 * A file host's options in the chain (HTTP only, on port 0, in `fileDir`, dialling `web`): what
 * startChain runs, and what a test uses to start that file host again.
 */
export function chainFileHostOptions(at: { fileDir: string; fileHostBag: KeyBag; web: WebService; log?: Logger }): FileHostOptions {
  return {
    name: 'file-1',
    host: '127.0.0.1',
    httpPort: 0,
    publicHttpUrl: '',
    repositoryDir: join(at.fileDir, 'repository'),
    areasDir: join(at.fileDir, 'areas'),
    inboxDir: join(at.fileDir, 'inbox'),
    auditJournalDir: join(at.fileDir, 'audit-journal'),
    allowCrossDevice: false,
    auditBatchSize: 50,
    auditFlushMs: 50,
    ticketCacheEntries: 1000,
    openFileCacheMs: 1000,
    httpWorkers: 1,
    ticketPublicKeyPem: ticketKeys().publicKeyPem,
    web: { host: '127.0.0.1', port: at.web.commlinkAddress.port },
    commlink: { bag: at.fileHostBag, reconnectMinMs: 20, reconnectMaxMs: 200 },
    log: at.log ?? silentLogger,
  };
}

/** The real chain on loopback: internal-db ← web (gateway) ← file host, each on port 0. */
export async function startChain(t: ExecutionContext, options: ChainOptions = {}): Promise<Chain> {
  const db = await startInternalDb(t);
  const fileHostBag = makeBag(); // each link its own bag, as deployed
  const log = options.log ?? silentLogger;
  const { privateKeyPem } = ticketKeys();
  const web = await WebService.start({
    host: '127.0.0.1',
    commlinkPort: 0,
    internalDb: { mode: 'listen', host: '127.0.0.1', port: db.service.address!.port, dialListenHost: '127.0.0.1', dialListenPort: 0 },
    commlink: { reconnectMinMs: 20, reconnectMaxMs: 200 },
    bags: { fileHosts: fileHostBag, internalDb: db.bag },
    ticketPrivateKeyPem: privateKeyPem,
    ticketTtlSeconds: 300,
    ...(options.webHttp
      ? {
          http: {
            port: 0,
            opsPort: 0,
            apiTokenCacheSeconds: 0,
            sessionCheckCacheSeconds: 0,
            checkApiResponses: true,
            ...options.webHttp,
            sessionKeys: options.sessionKeys ?? [randomBytes(32).toString('base64')],
          },
        }
      : {}),
    log,
  });
  if (!(await web.db.waitConnected(5000))) throw new Error('the web host did not connect to the internal-db within 5 s');
  const fileDir = await mkdtemp(join(tmpdir(), 'ffs-files-'));
  const fileHost = await FileHostService.start({
    ...chainFileHostOptions({ fileDir, fileHostBag, web, log }),
    ...options.fileHost,
    // Every login checked through the chain, unless a test asks for the login cache.
    sessions: { loginCacheSeconds: 0, ...options.fileHost?.sessions },
  });
  await waitFor(() => web.fileHosts.list().some((h) => h.name === (options.fileHost?.name ?? 'file-1')), 5000);
  t.teardown(async () => {
    await fileHost.close(0);
    await web.close(0);
    await rm(fileDir, { recursive: true, force: true });
  });
  return { ...db, fileHostBag, web, fileHost, fileDir };
}

/** auth.check requests the web host has sent the internal-db so far, whatever their outcome (from its metrics). */
export async function authChecksSent(chain: Chain): Promise<number> {
  const text = await chain.web.metrics.text();
  let sent = 0;
  for (const m of text.matchAll(/^ffs_web_commlink_request_duration_seconds_count\{peer="internal-db",op="auth\.check",outcome="\w+"\} (\d+)$/gm))
    sent += Number(m[1]);
  return sent;
}

/**
 * Publishes `acme-db <version>` with one artifact holding `content` (ingested through the web host
 * into the file host's repository) and returns the artifact's object id.
 */
export async function publish(chain: Chain, version: string, content: Buffer, filename = `acme-db-${version}.tar.gz`): Promise<string> {
  const { call } = chain;
  const vendors = (await call('vendor.list')).vendors as { name: string }[];
  if (!vendors.some((v) => v.name === 'Acme Software')) {
    await call('vendor.create', { name: 'Acme Software' });
    await call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  }
  const stored = await chain.web.fulfillment.ingest(Readable.from([content]), { size: content.length });
  const objectId = stored.objectId as string;
  await call('release.create', { product: 'acme-db', version });
  await call('artifact.add', { product: 'acme-db', version, filename, size: content.length, sha256: objectId, objectId });
  await call('release.publish', { product: 'acme-db', version });
  return objectId;
}
