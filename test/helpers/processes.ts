/** The services as real child processes, configured by FFS_* variables, for tests that kill or freeze them. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import { CommlinkClient, KeyBag } from '../../lib/commlink/index.js';
import { readKeyBagFile } from '../../lib/commlink/keybag-file.js';
import { loadConfig } from '../../lib/config/index.js';
import { COMMLINK_BAG_FIELDS, type CommlinkLink } from '../../lib/config/schema.js';
import { silentLogger } from '../../lib/log/logger.js';
import { main as genHostKeys } from '../../scripts/gen-host-keys.js';
import { main as genKeybag } from '../../scripts/gen-keybag.js';
import { main as genRsa } from '../../scripts/gen-rsa.js';
import { main as genSessionKey } from '../../scripts/gen-session-key.js';
import { isReadyMessage, type ReadyMessage } from '../../lib/service/run-service.js';
import { waitFor, within } from './wait.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** What the helpers here need of a test: somewhere to register teardowns (a test, or a scope shared by a file's tests). */
export type TeardownScope = Pick<ExecutionContext, 'teardown'>;

/** The entry points, by service. */
export const ENTRY = { 'internal-db': 'services/internal-db/main.js', web: 'services/web/main.js', 'file-host': 'services/ftp/main.js' } as const;

/** Short heartbeats, so a frozen peer is dropped within two seconds (the defaults take 15 s). */
export const FAST_HEARTBEAT = {
  FFS_COMMLINK__HEARTBEAT_INTERVAL_MS: '250',
  FFS_COMMLINK__HEARTBEAT_TIMEOUT_MS: '2000',
  FFS_COMMLINK__RECONNECT_MIN_MS: '50',
  FFS_COMMLINK__RECONNECT_MAX_MS: '500',
};

/** A fresh data directory with every secret the services read (both key bags, RSA, host keys, session key). */
export async function makeDataDir(t: TeardownScope, prefix = 'ffs-proc-'): Promise<string> {
  const dataDir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const io = { env: { FFS_DATA_DIR: dataDir, FFS_RSA__BITS: '2048' }, stdout: () => {}, stderr: () => {} };
  for (const gen of [genKeybag, genRsa, genHostKeys, genSessionKey]) {
    if ((await gen([], io)) !== 0) throw new Error(`${gen.name} failed for ${dataDir}`);
  }
  return dataDir;
}

/** Most of a process's log kept (the tail), for assertions and failure messages. */
const LOG_LIMIT = 4 * 1024 * 1024;

export interface ServiceProcess {
  readonly name: string;
  readonly child: ChildProcess;
  /** What it has logged (stderr), the last few MiB. */
  log(): string;
  /** Resolves with the exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  /** True once it has exited. */
  readonly gone: boolean;
  /**
   * Resolves with the ready message the service sends its parent once it serves (as it tells a
   * supervisor): its endpoints, with the ports it really got when they were configured as 0.
   * Rejects, with the end of its log, when it exits first or is not ready within `timeoutMs`.
   */
  ready(timeoutMs?: number): Promise<ReadyMessage>;
  /**
   * Sends a signal to the process and everything it started (its workers): the whole host dies
   * (SIGKILL) or freezes (SIGSTOP) at once, as when a machine fails.
   */
  signal(signal: NodeJS.Signals): void;
}

/**
 * Starts a service as a child process in a process group of its own, with `env` over the test's
 * environment and an IPC channel (the test is its supervisor: it receives the ready message, and
 * the service stops when the channel closes). Teardown kills the group (a frozen one too).
 */
export function startService(t: TeardownScope, name: string, entry: keyof typeof ENTRY, env: Record<string, string>): ServiceProcess {
  const child = spawn(process.execPath, [join(dist, ENTRY[entry])], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    detached: true,
  });
  let log = '';
  let gone = false;
  child.stderr!.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > LOG_LIMIT) log = log.slice(-LOG_LIMIT / 2);
  });
  const exited = new Promise<number | null>((resolve) =>
    child.once('exit', (code) => {
      gone = true;
      resolve(code);
    }),
  );
  // Invariant: `readyMessage` settles once, with the first ready message or with the exit before it.
  const readyMessage = new Promise<ReadyMessage>((resolve, reject) => {
    child.on('message', (message: unknown) => {
      if (isReadyMessage(message)) resolve(message);
    });
    void exited.then((code) => reject(new Error(`${name} exited (code ${String(code)}) before it was ready\n${log.slice(-3000)}`)));
  });
  readyMessage.catch(() => {}); // a process the test kills before asking is no failure
  const ready = (timeoutMs = 30_000): Promise<ReadyMessage> => within(readyMessage, timeoutMs, () => `${name} to be ready\n${log.slice(-3000)}`);
  const signal = (sig: NodeJS.Signals): void => {
    if (child.pid === undefined) return;
    try {
      process.kill(-child.pid, sig);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ESRCH') throw err; // the group is gone already
    }
  };
  t.teardown(async () => {
    signal('SIGKILL');
    await exited;
  });
  return {
    name,
    child,
    log: () => log,
    exited,
    get gone() {
      return gone;
    },
    signal,
    ready,
  };
}

/** A port from a ready message's endpoints (`key` as the service names it, e.g. commlinkPort). */
export function endpointPort(ready: ReadyMessage, key: string): number {
  const port = ready.endpoints[key];
  if (typeof port !== 'number' || port <= 0) throw new Error(`${ready.service} reported no ${key}: ${JSON.stringify(ready.endpoints)}`);
  return port;
}

/** The key bag of one commlink link in a data directory, where the configuration puts it. */
export async function linkBag(dataDir: string, link: CommlinkLink): Promise<KeyBag> {
  return new KeyBag(await readKeyBagFile(loadConfig({ env: { FFS_DATA_DIR: dataDir } }).commlink[COMMLINK_BAG_FIELDS[link]]));
}

/** A commlink client to the internal-db (as the admin CLI talks to it), with the data dir's bag of that link. */
export async function internalDbClient(
  t: TeardownScope,
  dataDir: string,
  port: number,
): Promise<{ call: (op: string, body?: Record<string, unknown>) => Promise<Record<string, unknown>>; client: CommlinkClient }> {
  const bag = await linkBag(dataDir, 'internalDb');
  const client = new CommlinkClient({ host: '127.0.0.1', port, bag, log: silentLogger, reconnectMinMs: 50, reconnectMaxMs: 500 });
  t.teardown(() => client.close(0));
  const call = (op: string, body: Record<string, unknown> = {}) => client.request(op, body as never, { timeoutMs: 20_000 }) as Promise<Record<string, unknown>>;
  return { call, client };
}

/** The last `chars` characters of a process's log, for a failure message. */
export function tail(p: ServiceProcess, chars = 3000): string {
  return `--- ${p.name} (last of its log) ---\n${p.log().slice(-chars)}`;
}

export interface Backbone {
  dataDir: string;
  /** The environment every service of this test shares (data dir, ports, heartbeats). */
  env: Record<string, string>;
  db: ServiceProcess;
  web: ServiceProcess;
  /** The web host's HTTP base URL (portal and API). */
  webUrl: string;
  dbPort: number;
  /** Asks the internal-db directly over the commlink (as the admin CLI does). */
  call: (op: string, body?: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/**
 * The internal-db and the web host as processes, sharing a fresh data dir, each on ports it picks
 * (0): the internal-db first; the web host is then told the internal-db's port from its ready
 * message. Resolves once both serve and the web host's link to the internal-db is up. The shared
 * `env` holds the ports they got, so a service started from it (a file host, or the internal-db
 * again) dials them or comes back on them.
 */
export async function startBackbone(t: TeardownScope, extraEnv: Record<string, string> = {}): Promise<Backbone> {
  const dataDir = await makeDataDir(t);
  const base = {
    FFS_DATA_DIR: dataDir,
    FFS_LOG__LEVEL: 'info',
    FFS_SERVICES__INTERNAL_DB__SCRYPT_LOG_N: '14',
    FFS_SERVICES__WEB__API_TOKEN_CACHE_SECONDS: '0',
    FFS_SERVICES__WEB__WORKERS: '2', // not one per core: the same processes on any machine
    FFS_SERVICES__WEB__CHECK_API_RESPONSES: 'true',
    ...FAST_HEARTBEAT,
    ...extraEnv,
  };
  const db = startService(t, 'internal-db', 'internal-db', { ...base, FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0' });
  const dbPort = endpointPort(await db.ready(), 'commlinkPort');
  const withDb = { ...base, FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: String(dbPort) };
  const web = startService(t, 'web', 'web', {
    ...withDb,
    FFS_SERVICES__WEB__COMMLINK_PORT: '0',
    FFS_SERVICES__WEB__PORT: '0',
    FFS_SERVICES__WEB__OPS_PORT: '0',
  });
  const webReady = await web.ready();
  const env = {
    ...withDb,
    FFS_SERVICES__WEB__COMMLINK_PORT: String(endpointPort(webReady, 'commlinkPort')),
    FFS_SERVICES__WEB__PORT: String(endpointPort(webReady, 'port')),
    FFS_SERVICES__WEB__OPS_PORT: String(endpointPort(webReady, 'opsPort')),
  };
  const webUrl = String(webReady.endpoints.url);
  const { call } = await internalDbClient(t, dataDir, dbPort);
  await call('vendor.list');
  await waitFor(
    async () => {
      const res = await fetch(`${webUrl}/readyz`).catch(() => undefined);
      return res !== undefined && ((await res.json()) as { internalDb?: boolean }).internalDb === true;
    },
    20_000,
    () => `the web host to connect to the internal-db\n${tail(web)}\n${tail(db)}`,
  );
  return { dataDir, env, db, web, webUrl, dbPort, call };
}

/**
 * The environment of a file host started on a backbone: every listener on a port of its own (0),
 * one HTTP and one SFTP worker, and ten FTP passive ports from `passiveMin` (a configured range:
 * each test takes a region of its own).
 */
export function fileHostEnv(backbone: Backbone, passiveMin: number): Record<string, string> {
  return {
    ...backbone.env,
    FFS_SERVICES__FTP__HTTP_PORT: '0',
    FFS_SERVICES__FTP__HTTP_WORKERS: '1',
    FFS_SERVICES__FTP__SFTP_PORT: '0',
    FFS_SERVICES__FTP__SFTP_WORKERS: '1',
    FFS_SERVICES__FTP__FTP_PORT: '0',
    FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MIN: String(passiveMin),
    FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MAX: String(passiveMin + 9),
  };
}
