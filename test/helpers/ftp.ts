/** Shared setup and clients of the FTP tests (ftp*.test.ts). */
import type { ExecutionContext } from 'ava';
import { Client, FTPError } from 'basic-ftp';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger, silentLogger } from '../../lib/log/logger.js';
import { selfSignedCertificate } from '../../scripts/gen-host-keys.js';
import { FtpServer, type FtpServerOptions } from '../../services/ftp/ftp/server.js';
import { publish, startChain, waitFor, type Chain, type ChainOptions } from './chain.js';

export const run = promisify(execFile);
export const PASSWORD = 'correct horse battery';
export const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Fixtures

let certs: Promise<{ cert: string; key: string }> | undefined;

/** A self-signed P-256 certificate for localhost (as scripts/gen-host-keys makes them), made once per test process. */
export function tlsCert(): Promise<{ cert: string; key: string }> {
  certs ??= selfSignedCertificate({ subject: '/CN=localhost', names: ['DNS:localhost', 'IP:127.0.0.1'], days: 2 });
  return certs;
}

/**
 * Passive ranges: blocks below the kernel's ephemeral range (32768+). Each FTP test file takes a
 * region of its own (usePortRegion), so test files running at the same time never share a port;
 * 29000-29999 is left to the start tests.
 */
let nextPort = 20_000;
export function usePortRegion(region: 0 | 1 | 2): void {
  nextPort = 20_000 + region * 3000 + Math.floor(Math.random() * 15) * 100;
}
export function passiveRange(size: number): { passivePortMin: number; passivePortMax: number } {
  const min = nextPort;
  nextPort += size;
  return { passivePortMin: min, passivePortMax: min + size - 1 };
}

export async function startFtp(t: ExecutionContext, chain: Chain, options: Partial<FtpServerOptions> = {}): Promise<FtpServer> {
  const range =
    options.passivePortMin !== undefined && options.passivePortMax !== undefined
      ? { passivePortMin: options.passivePortMin, passivePortMax: options.passivePortMax }
      : passiveRange(20);
  const server = new FtpServer({
    host: HOST,
    port: 0,
    passiveAddress: '',
    requireTls: false,
    tls: await tlsCert(),
    loginTimeoutMs: 10_000,
    idleTimeoutMs: 60_000,
    logins: chain.fileHost.logins,
    outcomes: chain.fileHost.audit,
    log: process.env.FTP_TEST_LOG ? createLogger({ level: 'debug' }) : silentLogger,
    ...options,
    ...range,
  });
  await server.start();
  t.teardown(() => server.close(0));
  return server;
}

export interface Setup {
  chain: Chain;
  ftp: FtpServer;
  content: Buffer;
  /** The staged file's virtual path: /acme-db/1.0.0/acme-db-1.0.0.tar.gz */
  path: string;
  /** The staged file on disk. */
  diskPath: string;
  entitlementId: number;
  range: { passivePortMin: number; passivePortMax: number };
}

export async function setup(
  t: ExecutionContext,
  options: { size?: number; chain?: ChainOptions; ftp?: Partial<FtpServerOptions>; ports?: number } = {},
): Promise<Setup> {
  const chain = await startChain(t, options.chain);
  const content = randomBytes(options.size ?? 300_000);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const grant = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  const path = staged.files[0]!.path as string;
  const range = passiveRange(options.ports ?? 20);
  const ftp = await startFtp(t, chain, { ...range, ...options.ftp });
  return { chain, ftp, content, path, diskPath: join(chain.fileDir, 'areas', 'globex', path), entitlementId: grant.id as number, range };
}

export async function login(t: ExecutionContext, ftp: FtpServer, options: { user?: string; password?: string; secure?: boolean } = {}): Promise<Client> {
  const client = new Client(15_000);
  t.teardown(() => client.close());
  await client.access({
    host: HOST,
    port: ftp.address.port,
    user: 'globex',
    password: PASSWORD,
    secure: false,
    secureOptions: { rejectUnauthorized: false },
    ...options,
  });
  return client;
}

/** A Writable that keeps what it is given. */
class Sink extends Writable {
  readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.chunks.push(chunk);
    cb();
  }
  get buffer(): Buffer {
    return Buffer.concat(this.chunks);
  }
}

export async function download(client: Client, path: string, startAt = 0): Promise<Buffer> {
  const sink = new Sink();
  await client.downloadTo(sink, path, startAt);
  return sink.buffer;
}

/** The reply code of a failed basic-ftp call (0 when it succeeded). */
export async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 0;
  } catch (err) {
    return err instanceof FTPError ? err.code : -1;
  }
}

/** The message of a failed basic-ftp call. */
export async function errorOf(call: Promise<unknown>): Promise<FTPError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof FTPError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

export async function curl(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
  try {
    const { stdout, stderr } = await run('/usr/bin/curl', ['-sS', '--max-time', '20', ...args], { encoding: 'buffer', maxBuffer: 64 * 1024 * 1024 });
    return { code: 0, stdout, stderr: stderr.toString() };
  } catch (err) {
    const e = err as { code: number; stdout: Buffer; stderr: Buffer };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr.toString() };
  }
}

/**
 * A bare control connection, for what a client library would not send: raw lines, garbage, and
 * replies read exactly as they come.
 */
export class Raw {
  readonly socket: Socket;
  #buffer = '';
  #waiters: (() => void)[] = [];
  closed = false;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.setEncoding('utf8');
    socket.on('data', (text: string) => {
      this.#buffer += text;
      this.#wake();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.#wake();
    });
  }

  /** A connection to the FTP server at host:port, from `localAddress` when given (on 127.0.0.0/8: another client). */
  static async open(t: ExecutionContext, port: number, localAddress?: string, host = HOST): Promise<Raw> {
    const socket = tcpConnect({ host, port, ...(localAddress ? { localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const raw = new Raw(socket);
    t.teardown(() => socket.destroy());
    return raw;
  }

  #wake(): void {
    for (const w of this.#waiters.splice(0)) w();
  }

  /** The next complete reply (multi-line ones whole): its code and text. */
  async reply(timeoutMs = 10_000): Promise<{ code: number; text: string }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const lines = this.#buffer.split('\r\n');
      const first = /^(\d{3})([ -])/.exec(lines[0] ?? '');
      if (first) {
        const end = first[2] === ' ' ? 0 : lines.findIndex((l, i) => i > 0 && l.startsWith(`${first[1]} `));
        if (end >= 0 && end < lines.length - 1) {
          const text = lines.slice(0, end + 1).join('\n');
          this.#buffer = lines.slice(end + 1).join('\r\n');
          return { code: Number(first[1]), text };
        }
      }
      if (this.closed) return { code: 0, text: '(closed)' };
      if (Date.now() > deadline) throw new Error(`no reply within ${timeoutMs} ms; have ${JSON.stringify(this.#buffer)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 50);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async send(line: string | Buffer): Promise<{ code: number; text: string }> {
    this.socket.write(typeof line === 'string' ? `${line}\r\n` : line);
    return this.reply();
  }

  async login(): Promise<void> {
    await this.send('USER globex');
    const res = await this.send(`PASS ${PASSWORD}`);
    if (res.code !== 230) throw new Error(`login failed: ${res.text}`);
  }

  /** Resolves when the server has closed the connection. */
  async whenClosed(timeoutMs = 10_000): Promise<void> {
    await waitFor(() => this.closed, timeoutMs, 'the server to close the connection');
  }
}

/** Binds every port of the range on the FTP host: all free again. */
export async function bindAll(min: number, max: number): Promise<number[]> {
  const busy: number[] = [];
  const servers: Server[] = [];
  for (let port = min; port <= max; port++) {
    const server = createServer();
    const ok = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(port, HOST, () => resolve(true));
    });
    if (ok) servers.push(server);
    else busy.push(port);
  }
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
  return busy;
}

export type AuditEvent = { outcome: string; bytes: number; protocol: string; path: string; clientAddress: string; customer?: string };

export async function auditEvents(chain: Chain, atLeast: number): Promise<AuditEvent[]> {
  let events: AuditEvent[] = [];
  await waitFor(
    async () => {
      events = (await chain.call('audit.query', { customer: 'globex', protocol: 'ftp' })).events as AuditEvent[];
      return events.length >= atLeast;
    },
    15_000,
    `${atLeast} ftp audit events`,
  );
  return events;
}

// ---------------------------------------------------------------------------------------------
// Logins, listings, downloads
