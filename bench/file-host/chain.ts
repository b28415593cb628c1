/**
 * The chain a file-host benchmark runs against, each service in a process of its own as on its own
 * host: the internal-db and the file host in child processes, the web host in this one. Objects are published as a vendor would: files put in the inbox, ingested.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KeyBag, type ChunkCrypto } from '../../lib/commlink/index.js';
import type { TicketSigning } from '../../lib/tickets/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { WebService } from '../../services/web/service.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';
import * as FileHost from '../../lib/contracts/file-host/operations.js';

const here = dirname(fileURLToPath(import.meta.url));

export interface BenchChain {
  dir: string;
  db: ChildProcess;
  web: WebService;
  child: ChildProcess;
  /** The file host's SFTP port. */
  sftpPort: number;
  /** The file host's FTP control port. */
  ftpPort: number;
  /** Writes a file of `size` real (non-sparse) bytes into the inbox and ingests it; returns its object id. */
  ingest(name: string, size: number): Promise<string>;
  /** Publishes acme <version> with one artifact and entitles `customers`. */
  publish(version: string, filename: string, objectId: string, size: number): Promise<void>;
  objectPath(objectId: string): string;
  close(): Promise<void>;
}

const log = createLogger({ level: 'warn' });

export interface BenchChainOptions {
  /** The file host's login cache (services.ftp.loginCacheSeconds); default 60, as configured. */
  loginCacheSeconds?: number;
  /** The web host signs tickets with this (bench/web/crypto-pool.ts: a pooled signer); default a TicketSigner. */
  webSigner?: (privateKeyPem: string) => TicketSigning;
  /** The web host's commlink chunk-crypto hook (bench/web/crypto-pool.ts); default none. */
  webChunkCrypto?: ChunkCrypto;
  /** The file host opens and seals commlink chunks in a crypto pool of this many threads; default 0 (inline). */
  fileHostChunkCryptoThreads?: number;
  /** Runs the web host's portal and REST API on a free port (bench/web/entitled-downloads.ts, uploads.ts). */
  webHttp?: boolean;
  /** The web host's HTTP worker processes (services.web.workers; 1: its own process serves HTTP); default as configured. */
  webWorkers?: number;
}

export async function startBenchChain(options: BenchChainOptions = {}): Promise<BenchChain> {
  const dir = mkdtempSync(join(tmpdir(), 'ffs-bench-files-'));
  chmodSync(dir, 0o755); // the peer (nginx workers) must be able to read the areas
  const keys = Array.from({ length: 128 }, () => randomBytes(32));
  const bag = new KeyBag(keys);
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 3072,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  const db = fork(join(here, 'db-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  });
  const dbPort = await new Promise<number>((resolve, reject) => {
    db.once('message', (m) => resolve((m as { port: number }).port));
    db.once('exit', (code) => reject(new Error(`bench internal-db exited with ${code}`)));
    db.send({ keys: keys.map((k) => k.toString('base64')), dir });
  });
  const web = await WebService.start({
    host: '127.0.0.1',
    commlinkPort: 0,
    internalDb: { mode: 'listen', host: '127.0.0.1', port: dbPort, dialListenHost: '127.0.0.1', dialListenPort: 0 },
    commlink: options.webChunkCrypto ? { chunkCrypto: options.webChunkCrypto } : {},
    bags: { fileHosts: bag, internalDb: bag }, // one bag for both links: a benchmark, not a deployment
    ticketPrivateKeyPem: pair.privateKey,
    ticketTtlSeconds: 3600,
    ...(options.webHttp
      ? {
          http: {
            port: 0,
            opsPort: 0,
            sessionKeys: [randomBytes(32).toString('base64')],
            maxUploadBytes: 64 * 1024 ** 3,
            ...(options.webWorkers === undefined ? {} : { workers: options.webWorkers }),
          },
        }
      : {}),
    ...(options.webSigner ? { signer: options.webSigner(pair.privateKey) } : {}),
    log,
  });
  await web.db.waitConnected(5000);
  const child = fork(join(here, 'file-host-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  });
  const ports = await new Promise<{ httpPort: number; sftpPort: number; ftpPort: number }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { httpPort: number; sftpPort: number; ftpPort: number }));
    child.once('exit', (code) => reject(new Error(`bench file host exited with ${code}`)));
    child.send({
      keys: keys.map((k) => k.toString('base64')),
      dir,
      webPort: web.commlinkAddress.port,
      publicKeyPem: pair.publicKey,
      loginCacheSeconds: options.loginCacheSeconds ?? 60,
      chunkCryptoThreads: options.fileHostChunkCryptoThreads ?? 0,
    });
  });
  for (let i = 0; i < 500 && web.fileHosts.list().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
  await web.db.ask(InternalDb.vendorCreate, { name: 'Bench Vendor' });
  await web.db.ask(InternalDb.productCreate, { vendor: 'Bench Vendor', code: 'acme', name: 'Acme' });
  await web.db.ask(InternalDb.customerCreate, { login: 'bench', name: 'Bench Customer' });
  await web.db.ask(InternalDb.entitlementGrant, { customer: 'bench', product: 'acme' });
  return {
    dir,
    db,
    web,
    child,
    sftpPort: ports.sftpPort,
    ftpPort: ports.ftpPort,
    async ingest(name, size) {
      mkdirSync(join(dir, 'inbox'), { recursive: true });
      const handle = await open(join(dir, 'inbox', name), 'w');
      const block = randomBytes(Math.min(size, 1024 * 1024));
      for (let written = 0; written < size; written += block.length) {
        block.writeUInt32BE(written / block.length, 0); // every block differs
        await handle.write(block, 0, Math.min(block.length, size - written));
      }
      await handle.close();
      const reply = await web.fileHosts.ask(web.fileHosts.pick(), FileHost.ingestInbox, { name, size }, { timeoutMs: 600_000 });
      return reply.objectId;
    },
    async publish(version, filename, objectId, size) {
      await web.db.ask(InternalDb.releaseCreate, { product: 'acme', version });
      await web.db.ask(InternalDb.artifactAdd, { product: 'acme', version, filename, size, sha256: objectId, objectId });
      await web.db.ask(InternalDb.releasePublish, { product: 'acme', version });
    },
    objectPath: (objectId) => join(dir, 'repository', 'objects', objectId.slice(0, 2), objectId),
    async close() {
      await stopChildProcess(child);
      await web.close(1000);
      await stopChildProcess(db);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Disconnects a bench child (it closes its service and exits), killing it after 5 s. */
async function stopChildProcess(child: ChildProcess): Promise<void> {
  if (child.connected) child.disconnect();
  await new Promise((resolve) => {
    if (child.exitCode !== null) return resolve(undefined);
    const timer = setTimeout(resolve, 5000);
    child.once('exit', () => resolve(clearTimeout(timer)));
  });
  child.kill();
}
