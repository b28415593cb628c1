import test, { type ExecutionContext } from 'ava';
import { Client, FTPError } from 'basic-ftp';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { createServer, connect as tcpConnect, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable, Writable } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger, silentLogger } from '../lib/log/logger.js';
import { FtpServer, type FtpServerOptions } from '../services/ftp/ftp/server.js';
import { InternalDbService } from '../services/internal-db/service.js';
import { publish, startChain, waitFor, type Chain, type ChainOptions } from './helpers/chain.js';

const run = promisify(execFile);
const PASSWORD = 'correct horse battery';
const HOST = '127.0.0.1';

// ---------------------------------------------------------------------------------------------
// Fixtures

let certDir: string | undefined;
let certs: Promise<{ cert: string; key: string }> | undefined;

/** A self-signed P-256 certificate for localhost, made once per test process. */
function tlsCert(): Promise<{ cert: string; key: string }> {
  certs ??= (async () => {
    certDir = await mkdtemp(join(tmpdir(), 'ffs-ftp-tls-'));
    const [key, cert] = [join(certDir, 'key.pem'), join(certDir, 'cert.pem')];
    await run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-subj', '/CN=localhost', '-days', '2', '-keyout', key, '-out', cert]);
    return { cert: await readFile(cert, 'utf8'), key: await readFile(key, 'utf8') };
  })();
  return certs;
}

test.after.always(async () => {
  if (certDir) await rm(certDir, { recursive: true, force: true });
});

/**
 * Passive ranges: blocks below the kernel's ephemeral range (32768+), from a random base per test
 * process, so that tests running at the same time never share a port and outgoing connections of
 * other tests never sit on one.
 */
const PORT_BASE = 20_000 + Math.floor(Math.random() * 80) * 100;
let nextPort = PORT_BASE;
function passiveRange(size: number): { passivePortMin: number; passivePortMax: number } {
  const min = nextPort;
  nextPort += size;
  return { passivePortMin: min, passivePortMax: min + size - 1 };
}

async function startFtp(t: ExecutionContext, chain: Chain, options: Partial<FtpServerOptions> = {}): Promise<FtpServer> {
  const range = options.passivePortMin !== undefined && options.passivePortMax !== undefined ? { passivePortMin: options.passivePortMin, passivePortMax: options.passivePortMax } : passiveRange(20);
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

interface Setup {
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

async function setup(t: ExecutionContext, options: { size?: number; chain?: ChainOptions; ftp?: Partial<FtpServerOptions>; ports?: number } = {}): Promise<Setup> {
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

async function login(t: ExecutionContext, ftp: FtpServer, options: { user?: string; password?: string; secure?: boolean } = {}): Promise<Client> {
  const client = new Client(15_000);
  t.teardown(() => client.close());
  await client.access({ host: HOST, port: ftp.address.port, user: 'globex', password: PASSWORD, secure: false, secureOptions: { rejectUnauthorized: false }, ...options });
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

async function download(client: Client, path: string, startAt = 0): Promise<Buffer> {
  const sink = new Sink();
  await client.downloadTo(sink, path, startAt);
  return sink.buffer;
}

/** The reply code of a failed basic-ftp call (0 when it succeeded). */
async function codeOf(call: Promise<unknown>): Promise<number> {
  try {
    await call;
    return 0;
  } catch (err) {
    return err instanceof FTPError ? err.code : -1;
  }
}

/** The message of a failed basic-ftp call. */
async function errorOf(call: Promise<unknown>): Promise<FTPError> {
  try {
    await call;
  } catch (err) {
    if (err instanceof FTPError) return err;
    throw err;
  }
  throw new Error('expected the call to fail');
}

async function curl(args: string[]): Promise<{ code: number; stdout: Buffer; stderr: string }> {
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
class Raw {
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

  static async open(t: ExecutionContext, port: number): Promise<Raw> {
    const socket = tcpConnect({ host: HOST, port });
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
async function bindAll(min: number, max: number): Promise<number[]> {
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

type AuditEvent = { outcome: string; bytes: number; protocol: string; path: string; clientAddress: string; customer?: string };

async function auditEvents(chain: Chain, atLeast: number): Promise<AuditEvent[]> {
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

test('login, FEAT, PWD/CWD, LIST, MLSD, NLST, MLST, SIZE and MDTM', async (t) => {
  const { ftp, content, path, diskPath } = await setup(t);
  const client = await login(t, ftp);
  const feat = await client.send('FEAT');
  for (const feature of ['AUTH TLS', 'PBSZ', 'PROT', 'EPSV', 'MDTM', 'REST STREAM', 'SIZE', 'UTF8', 'MLST type']) t.true(feat.message.includes(` ${feature}`), feature);
  t.is(await client.pwd(), '/');

  // MLSD (basic-ftp picks it because FEAT announces MLST).
  const root = await client.list('/');
  t.deepEqual(client.availableListCommands, ['MLSD']);
  t.deepEqual(root.map((e) => [e.name, e.isDirectory]), [['acme-db', true]]);
  const files = await client.list('/acme-db/1.0.0');
  t.deepEqual(files.map((e) => [e.name, e.isFile, e.size]), [['acme-db-1.0.0.tar.gz', true, content.length]]);

  // LIST (ls -l lines), also with flags.
  client.availableListCommands = ['LIST -la'];
  const listed = await client.list('/acme-db/1.0.0');
  t.deepEqual(listed.map((e) => [e.name, e.size, e.isFile]), [['acme-db-1.0.0.tar.gz', content.length, true]]);
  client.availableListCommands = ['LIST'];
  await client.cd('/acme-db');
  t.is(await client.pwd(), '/acme-db');
  t.deepEqual((await client.list()).map((e) => [e.name, e.isDirectory]), [['1.0.0', true]]);
  await client.cd('..');
  t.is(await client.pwd(), '/');
  await client.cd('../../..');
  t.is(await client.pwd(), '/', 'clamped at the root');

  // MLST, and the perm facts once asked for.
  await client.send('OPTS MLST type;size;modify;perm;');
  const mlst = await client.send(`MLST ${path}`);
  t.regex(mlst.message, new RegExp(`type=file;size=${content.length};modify=\\d{14};perm=r; ${path.replace(/\./g, '\\.')}`));
  t.regex((await client.send('MLST /acme-db')).message, /type=dir;modify=\d{14};perm=el; \/acme-db/);

  t.is(await client.size(path), content.length);
  t.is(await codeOf(client.size('/acme-db')), 550, 'SIZE of a directory');
  t.is(await codeOf(client.size('/acme-db/1.0.0/nope.tar.gz')), 550);
  const mtime = (await stat(diskPath)).mtime;
  t.is((await client.lastMod(path)).getTime(), Math.floor(mtime.getTime() / 1000) * 1000);

  // curl: NLST (--list-only), LIST and a raw MLSD.
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}`;
  const nlst = await curl(['--list-only', `${url}/acme-db/1.0.0/`]);
  t.is(nlst.code, 0, nlst.stderr);
  t.regex(nlst.stdout.toString(), /^acme-db-1\.0\.0\.tar\.gz\r?\n$/);
  const ls = await curl([`${url}/acme-db/1.0.0/`]);
  t.regex(ls.stdout.toString(), new RegExp(`^-r--r--r-- +1 ftp +ftp +${content.length} \\w{3} [ \\d]\\d [\\d:]{5} acme-db-1\\.0\\.0\\.tar\\.gz\\r?\\n$`));
  const mlsd = await curl(['-X', 'MLSD', `${url}/acme-db/1.0.0/`]);
  t.regex(mlsd.stdout.toString(), new RegExp(`^type=file;size=${content.length};modify=\\d{14};perm=r; acme-db-1\\.0\\.0\\.tar\\.gz\\r?\\n$`));
  const mlsdRoot = await curl(['-X', 'MLSD', `${url}/`]);
  t.regex(mlsdRoot.stdout.toString(), /^type=dir;modify=\d{14};perm=el; acme-db\r?\n$/);
});

test('a download is byte-identical, and a download resumed with REST completes it byte for byte', async (t) => {
  const { chain, ftp, content, path } = await setup(t, { size: 3 * 1024 * 1024 + 5 });
  const client = await login(t, ftp);
  t.true((await download(client, path)).equals(content));
  const cut = 1_234_567;
  const rest = await download(client, path, cut);
  t.true(Buffer.concat([content.subarray(0, cut), rest]).equals(content));
  t.is((await download(client, path, content.length)).length, 0, 'REST at the end: nothing left to send');
  t.is(await codeOf(download(client, path, content.length + 1)), 554, 'REST past the end');
  t.is((await client.send('REST x').catch((err: FTPError) => err)).code, 501);
  // curl resumes too (REST), and reads the same bytes.
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}${path}`;
  const whole = await curl([url]);
  t.true(whole.stdout.equals(content), whole.stderr);
  const part = await curl(['-C', String(cut), url]);
  t.true(part.stdout.equals(content.subarray(cut)), part.stderr);
  // One audit row per RETR with what was sent.
  const events = await auditEvents(chain, 5);
  t.deepEqual(events.filter((e) => e.outcome === 'complete').map((e) => e.bytes).sort((a, b) => a - b), [0, content.length - cut, content.length - cut, content.length, content.length]);
  t.true(events.every((e) => e.protocol === 'ftp' && e.path === path && e.clientAddress === HOST), JSON.stringify(events[0]));
});

test('an aborted download is audited as aborted with the bytes sent; ABOR answers in order', async (t) => {
  const { chain, ftp, content, path } = await setup(t, { size: 24 * 1024 * 1024 });
  // The client hangs up after the first bytes.
  const client = await login(t, ftp);
  const sink = new Writable({
    write(_chunk, _enc, cb) {
      client.close();
      cb();
    },
  });
  await t.throwsAsync(client.downloadTo(sink, path));
  const events = await auditEvents(chain, 1);
  t.is(events[0]!.outcome, 'aborted');
  t.true(events[0]!.bytes < content.length, String(events[0]!.bytes));
  // ABOR without a transfer; then ABOR during one: 426 for the RETR, then 226 for the ABOR.
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('ABOR')).code, 226);
  const epsv = await raw.send('EPSV');
  const port = Number(/\|\|\|(\d+)\|/.exec(epsv.text)![1]);
  const data = tcpConnect({ host: HOST, port });
  data.on('error', () => {});
  data.pause(); // a client that does not read: the transfer stalls until ABOR
  t.is((await raw.send(`RETR ${path}`)).code, 150);
  await new Promise((r) => setTimeout(r, 200));
  raw.socket.write('ABOR\r\n');
  t.is((await raw.reply()).code, 426);
  t.is((await raw.reply()).code, 226);
  data.destroy();
  await waitFor(async () => (await auditEvents(chain, 1)).length === 2, 10_000, 'the second audit row');
  t.is((await raw.send('NOOP')).code, 200, 'the session goes on');
});

test('a wrong password and an unknown user are refused with 530; the server goes on', async (t) => {
  const { ftp } = await setup(t);
  const wrong = await errorOf(login(t, ftp, { password: 'wrong password' }));
  t.is(wrong.code, 530);
  const unknown = await errorOf(login(t, ftp, { user: 'nobody' }));
  t.is(unknown.code, 530);
  const malformed = await errorOf(login(t, ftp, { user: '../../etc' }));
  t.is(malformed.code, 530);
  const raw = await Raw.open(t, ftp.address.port);
  t.is((await raw.reply()).code, 220);
  t.is((await raw.send('PASS x')).code, 503, 'PASS before USER');
  t.is((await raw.send('LIST')).code, 530, 'commands need a login');
  t.is((await raw.send('RETR /acme-db/1.0.0/acme-db-1.0.0.tar.gz')).code, 530);
  t.is((await raw.send('SYST')).code, 215);
  t.is((await raw.send('TYPE I')).code, 530, 'ftp-srv’s own commands check the login too');
  const client = await login(t, ftp);
  t.is(await client.pwd(), '/');
});

test('a revoked entitlement is gone at the next login', async (t) => {
  const { chain, ftp, content, path, entitlementId } = await setup(t);
  const first = await login(t, ftp);
  t.true((await download(first, path)).equals(content));
  first.close();
  await chain.call('entitlement.revoke', { id: entitlementId });
  const second = await login(t, ftp);
  t.deepEqual(await second.list('/'), []);
  t.is(await codeOf(download(second, path)), 550);
  t.is(await codeOf(second.size(path)), 550);
});

// ---------------------------------------------------------------------------------------------
// Read-only, traversal

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      const s = await stat(p).catch(() => undefined);
      out.push(`${p} ${entry.isDirectory() ? 'd' : 'f'} ${s?.size} ${s?.mtimeMs} ${s?.ino} ${s?.mode}`);
      if (entry.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

test('every write command is refused, changes nothing, and holds no passive port', async (t) => {
  const { chain, ftp, path } = await setup(t);
  const areas = join(chain.fileDir, 'areas');
  const before = await snapshot(areas);
  const client = await login(t, ftp);
  const upload = () => Readable.from([Buffer.from('evil')]);
  t.is(await codeOf(client.uploadFrom(upload(), '/new.txt')), 553, 'STOR');
  t.is(await codeOf(client.uploadFrom(upload(), path)), 553, 'STOR over a file');
  t.is(await codeOf(client.appendFrom(upload(), path)), 553, 'APPE');
  t.is(await codeOf(client.send('STOU')), 553, 'STOU');
  t.is(await codeOf(client.remove(path)), 550, 'DELE');
  t.is(await codeOf(client.send(`RNFR ${path}`)), 550, 'RNFR');
  t.is(await codeOf(client.send('RNTO /x.tar.gz')), 550, 'RNTO');
  t.is(await codeOf(client.rename(path, '/moved.tar.gz')), 550, 'rename');
  t.is(await codeOf(client.send('MKD /newdir')), 550, 'MKD');
  t.is(await codeOf(client.send('XMKD /newdir')), 550, 'XMKD');
  t.is(await codeOf(client.send('RMD /acme-db/1.0.0')), 550, 'RMD');
  t.is(await codeOf(client.send('XRMD /acme-db')), 550, 'XRMD');
  t.is(await codeOf(client.send(`SITE CHMOD 777 ${path}`)), 550, 'SITE CHMOD');
  t.is(await codeOf(client.send('SITE EXEC /bin/sh')), 502, 'another SITE command');
  t.is(await codeOf(client.send('PORT 127,0,0,1,200,10')), 502, 'active mode');
  const eprt = await errorOf(client.send('EPRT |1|127.0.0.1|51234|'));
  t.is(eprt.code, 502);
  t.regex(eprt.message, /active mode.*not supported.*PASV or EPSV/i);
  t.is(await codeOf(client.send('XYZZY')), 502, 'unknown');
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}`;
  const curled = await curl(['-T', '-', `${url}/curl-upload.txt`]);
  t.not(curled.code, 0);
  t.regex(curled.stderr, /553|denied|read-only/i);
  t.deepEqual(await snapshot(areas), before, 'nothing changed in any area');
  await waitFor(() => ftp.passivePortsHeld === 0, 5000, 'refused commands to free their passive ports');
  t.pass();
});

test('60 traversal payloads over CWD, RETR, SIZE and LIST never reveal a secret outside the area', async (t) => {
  const { chain, ftp, content } = await setup(t, { size: 5000 });
  const marker = `TOP-SECRET-${randomBytes(8).toString('hex')}`;
  const secret = Buffer.from(`${marker}\n`.repeat(37)); // a size no staged file has
  const areas = join(chain.fileDir, 'areas');
  const outside = join(chain.fileDir, 'secret.txt');
  await writeFile(outside, secret);
  await writeFile(join(areas, 'secret.txt'), secret);
  await mkdir(join(areas, 'initech', 'acme-db', '1.0.0'), { recursive: true });
  await writeFile(join(areas, 'initech', 'acme-db', '1.0.0', 'secret.txt'), secret);
  const client = await login(t, ftp); // the login prunes; links are planted after it
  const area = join(areas, 'globex');
  await symlink(outside, join(area, 'acme-db', '1.0.0', 'leak.tar.gz'));
  await symlink(chain.fileDir, join(area, 'escape'));
  await symlink('..', join(area, 'up'));
  await symlink('/', join(area, 'rootfs'));
  await symlink('acme-db', join(area, 'inside')); // a link that stays inside the area works

  const leaked = (text: string) => text.includes(marker) || text.includes('secret.txt');
  const depth = (n: number) => '../'.repeat(n);
  const payloads = [
    '../secret.txt', '../../secret.txt', `${depth(8)}secret.txt`, '/../secret.txt', '/../../secret.txt', '..', '../..', '/..', '/../..',
    '../initech/acme-db/1.0.0/secret.txt', '/../initech/acme-db/1.0.0/secret.txt', 'acme-db/../../secret.txt', 'acme-db/1.0.0/../../../secret.txt',
    outside, `/${outside}`, `//${outside}`, `${depth(12)}${outside.slice(1)}`, `/acme-db/1.0.0/${depth(6)}${outside.slice(1)}`,
    '..\\secret.txt', '..\\..\\secret.txt', '\\..\\secret.txt', 'acme-db\\..\\..\\secret.txt', '..\\/secret.txt',
    '%2e%2e/secret.txt', '%2e%2e%2fsecret.txt', '%2E%2E/%2E%2E/secret.txt', '..%2fsecret.txt', '%252e%252e/secret.txt', '..%c0%afsecret.txt', '%2e%2e%5csecret.txt',
    '..\u0000/secret.txt', 'secret.txt\u0000.tar.gz', '/acme-db/1.0.0/\u0000../../../secret.txt', '\u0000',
    '.../secret.txt', '..../secret.txt', './../secret.txt', '.././../secret.txt', '/./../secret.txt', '..;/secret.txt', '../ secret.txt',
    '\u2024\u2024/secret.txt', '\uff0e\uff0e/secret.txt', '..\u2215secret.txt',
    'a'.repeat(256), `${'a'.repeat(255)}/../../secret.txt`, `${depth(1300)}secret.txt`, `/${'x/'.repeat(600)}${depth(700)}secret.txt`, `/${'a/'.repeat(2049)}`,
    'acme-db/1.0.0/leak.tar.gz', '/acme-db/1.0.0/leak.tar.gz', 'escape/secret.txt', '/escape/secret.txt', 'escape', 'escape/areas/secret.txt',
    'up/secret.txt', 'up/../secret.txt', 'up/up/up/secret.txt', 'rootfs' + outside, '/rootfs/etc/passwd', 'rootfs',
    '~/../secret.txt', '~root', '*', '../*', 'acme-db/1.0.0/*',
  ];
  t.true(payloads.length >= 60, String(payloads.length));

  // Control characters (NUL …): a client library will not send them; a bare connection does.
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  const withControls = payloads.filter((p) => /[\u0000-\u001f]/.test(p));
  t.true(withControls.length >= 4);
  for (const payload of withControls) {
    for (const command of ['SIZE', 'CWD', 'MDTM', 'MLST', 'RETR']) {
      const res = await raw.send(`${command} ${payload}`);
      t.is(res.code, 550, `${command} ${JSON.stringify(payload)}: ${res.text}`);
      t.false(leaked(res.text), res.text);
    }
    t.is((await raw.send('EPSV')).code, 229);
    const res = await raw.send(`LIST ${payload}`);
    t.is(res.code, 550);
  }
  t.is((await raw.send('PWD')).text, '257 "/" is the current directory');

  let fresh = client;
  const ensure = async () => {
    if (fresh.closed) fresh = await login(t, ftp);
    return fresh;
  };
  let operations = 0;
  for (const payload of payloads.filter((p) => !withControls.includes(p))) {
    const name = JSON.stringify(payload.slice(0, 60));
    // RETR
    const c1 = await ensure();
    try {
      const got = await download(c1, payload);
      t.false(got.includes(marker), `RETR ${name}`);
      t.true(got.length === 0 || got.equals(content), `RETR ${name} sent only a staged file`);
    } catch (err) {
      t.true(err instanceof FTPError && err.code >= 500, `RETR ${name}: ${(err as Error).message}`);
    }
    // SIZE
    const c2 = await ensure();
    try {
      t.not(await c2.size(payload), secret.length, `SIZE ${name}`);
    } catch (err) {
      t.true(err instanceof FTPError && err.code >= 500, `SIZE ${name}`);
    }
    // LIST (and MLSD)
    for (const command of [['LIST'], ['MLSD']]) {
      const c3 = await ensure();
      c3.availableListCommands = command;
      try {
        const entries = await c3.list(payload);
        t.false(entries.some((e) => leaked(e.name)), `${command[0]} ${name}: ${entries.map((e) => e.name).join(',')}`);
      } catch (err) {
        t.true(err instanceof FTPError && err.code >= 500, `${command[0]} ${name}: ${(err as Error).message}`);
      }
    }
    // CWD, then what is listed there
    const c4 = await ensure();
    try {
      await c4.cd(payload);
      c4.availableListCommands = ['MLSD'];
      const entries = await c4.list();
      t.false(entries.some((e) => leaked(e.name)), `CWD ${name}`);
      t.false(leaked(await c4.pwd()), `PWD after CWD ${name}`);
    } catch (err) {
      t.true(err instanceof FTPError && err.code >= 500, `CWD ${name}: ${(err as Error).message}`);
    }
    await c4.cd('/').catch(() => {});
    operations += 5;
  }
  t.true(operations >= 250, String(operations));
  // The planted links are not even listed.
  fresh.availableListCommands = ['MLSD'];
  t.deepEqual((await fresh.list('/')).map((e) => e.name).sort(), ['acme-db', 'inside']);
  t.true((await download(fresh, '/inside/1.0.0/acme-db-1.0.0.tar.gz')).equals(content));
  t.deepEqual((await fresh.list('/acme-db/1.0.0')).map((e) => e.name), ['acme-db-1.0.0.tar.gz']);
  t.true((await readFile(outside)).equals(secret), 'the secret is untouched');
});

// ---------------------------------------------------------------------------------------------
// Passive ports, limits, bans, timeouts

test('passive ports are all free again after 200 sessions with a passive transfer each', async (t) => {
  const ports = 10;
  const { ftp, content, path, range } = await setup(t, { size: 20_000, ports });
  const { passivePortMin: min, passivePortMax: max } = range;
  let done = 0;
  const worker = async (n: number) => {
    for (let i = n; i < 200; i += 8) {
      const client = new Client(15_000);
      try {
        await client.access({ host: HOST, port: ftp.address.port, user: 'globex', password: PASSWORD });
        if (i % 2 === 0) t.true((await download(client, path)).equals(content));
        else t.is((await client.list('/acme-db/1.0.0')).length, 1);
        done++;
      } finally {
        client.close();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));
  t.is(done, 200);
  await waitFor(() => ftp.sessions === 0 && ftp.passivePortsHeld === 0, 10_000, 'sessions to end');
  t.deepEqual(await bindAll(min, max), [], 'every port of the range can be bound again');
  // A PASV that is never used, and a PASV replaced by another, give their ports back too.
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('PASV')).code, 227);
  t.is((await raw.send('EPSV')).code, 229);
  t.is(ftp.passivePortsHeld, 1, 'the second replaced the first');
  raw.socket.destroy();
  await waitFor(() => ftp.passivePortsHeld === 0 && ftp.sessions === 0, 5000, 'the port of a session that left');
  t.deepEqual(await bindAll(min, max), []);
  const fresh = await login(t, ftp);
  t.true((await download(fresh, path)).equals(content), 'a fresh session gets a port');
});

test('100 concurrent downloads (20 clients × 5 files) are byte-identical', async (t) => {
  const { chain, ftp } = await setup(t, { size: 1000, ports: 40 });
  const contents: Buffer[] = [];
  const paths: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const version = `2.0.${i}`;
    const content = randomBytes(200_000 + i * 77_777);
    await publish(chain, version, content);
    const staged = await chain.web.fulfillment.stage('globex', 'acme-db', version);
    contents.push(content);
    paths.push(staged.files[0]!.path as string);
  }
  const clients = await Promise.all(Array.from({ length: 20 }, () => login(t, ftp)));
  const results = await Promise.all(
    clients.map(async (client, c) => {
      const ok: boolean[] = [];
      for (let k = 0; k < 5; k++) {
        const i = (c + k) % 5;
        ok.push((await download(client, paths[i]!)).equals(contents[i]!));
      }
      return ok;
    }),
  );
  t.is(results.flat().filter(Boolean).length, 100);
  const events = await auditEvents(chain, 100);
  t.is(events.filter((e) => e.outcome === 'complete').length, 100);
});

test('repeated failed logins get the address banned: 421 with a message, even for the right password', async (t) => {
  const { ftp } = await setup(t, { chain: { fileHost: { sessions: { defenderThreshold: 3 } } } });
  for (let i = 0; i < 3; i++) t.is((await errorOf(login(t, ftp, { password: `guess ${i}` }))).code, 530);
  const banned = await errorOf(login(t, ftp));
  t.is(banned.code, 421);
  t.regex(banned.message, /banned/i);
  const raw = await Raw.open(t, ftp.address.port);
  const greeting = await raw.reply();
  t.is(greeting.code, 421, 'refused before the greeting');
  await raw.whenClosed();
});

test('per-address connection limit and per-customer session limit answer 421', async (t) => {
  const { ftp } = await setup(t, { chain: { fileHost: { sessions: { maxSessionsPerAddress: 3, maxSessionsPerCustomer: 1 } } } });
  const first = await login(t, ftp);
  const second = await errorOf(login(t, ftp));
  t.is(second.code, 421);
  t.regex(second.message, /too many sessions/i);
  await waitFor(() => ftp.sessions === 1, 5000, 'the refused session to end');
  const a = await Raw.open(t, ftp.address.port);
  const b = await Raw.open(t, ftp.address.port);
  t.is((await a.reply()).code, 220);
  t.is((await b.reply()).code, 220);
  const c = await Raw.open(t, ftp.address.port);
  const refused = await c.reply();
  t.is(refused.code, 421);
  t.regex(refused.text, /connections/);
  await c.whenClosed();
  a.socket.destroy();
  await waitFor(() => ftp.sessions === 2, 5000, 'a slot to free');
  const d = await Raw.open(t, ftp.address.port);
  t.is((await d.reply()).code, 220);
  t.is(await first.pwd(), '/');
});

test('login timeout and idle timeout close the connection with 421', async (t) => {
  const { chain, ftp } = await setup(t, { ftp: { loginTimeoutMs: 300 } });
  const lazy = await Raw.open(t, ftp.address.port);
  t.is((await lazy.reply()).code, 220);
  t.is((await lazy.send('USER globex')).code, 331);
  const timedOut = await lazy.reply(3000);
  t.is(timedOut.code, 421);
  t.regex(timedOut.text, /login timeout/i);
  await lazy.whenClosed();
  const idleFtp = await startFtp(t, chain, { idleTimeoutMs: 600 });
  const idle = await Raw.open(t, idleFtp.address.port);
  await idle.reply();
  await idle.login();
  await new Promise((r) => setTimeout(r, 300));
  t.is((await idle.send('NOOP')).code, 200, 'a command resets the idle timer');
  const closed = await idle.reply(3000);
  t.is(closed.code, 421);
  t.regex(closed.text, /idle/i);
  await idle.whenClosed();
  await waitFor(() => ftp.sessions === 0 && idleFtp.sessions === 0, 5000, 'sessions to end');
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// FTPS

test('explicit FTPS: login, listing and download over TLS; requireTls refuses a plain login', async (t) => {
  const { ftp, content, path } = await setup(t, { size: 2 * 1024 * 1024 + 11, ftp: { requireTls: true } });
  const secure = await login(t, ftp, { secure: true });
  t.true((await download(secure, path)).equals(content));
  t.true((await download(secure, path, 99_999)).equals(content.subarray(99_999)));
  t.deepEqual((await secure.list('/acme-db/1.0.0')).map((e) => e.name), ['acme-db-1.0.0.tar.gz']);
  t.is(await codeOf(secure.send('PROT C')), 534, 'clear data connections are refused');
  t.is(await codeOf(secure.send('AUTH TLS')), 503);

  const plain = await errorOf(login(t, ftp));
  t.is(plain.code, 530);
  t.regex(plain.message, /TLS required/);

  // TLS on the control connection but no PROT P: data connections are refused (521).
  const noProt = new Client(10_000);
  t.teardown(() => noProt.close());
  await noProt.connect(HOST, ftp.address.port);
  await noProt.useTLS({ rejectUnauthorized: false });
  await noProt.login('globex', PASSWORD);
  t.is(await codeOf(noProt.send('EPSV')), 521);

  // curl with --ssl-reqd.
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}${path}`;
  const curled = await curl(['--ssl-reqd', '-k', url]);
  t.true(curled.stdout.equals(content), curled.stderr);
  const plainCurl = await curl([url]);
  t.not(plainCurl.code, 0);
});

test('FTPS is optional without requireTls, and absent without a certificate', async (t) => {
  const { chain, ftp, content, path } = await setup(t);
  const secure = await login(t, ftp, { secure: true });
  t.true((await download(secure, path)).equals(content));
  const plain = await login(t, ftp);
  t.true((await download(plain, path)).equals(content));
  const noTls = await startFtp(t, chain, { tls: undefined });
  const client = await login(t, noTls);
  t.false((await client.send('FEAT')).message.includes('AUTH TLS'));
  t.is(await codeOf(client.send('AUTH TLS')), 502);
  t.throws(() => new FtpServer({ ...baseOptions(chain), requireTls: true, tls: undefined }), { message: /requireTls/ });
});

function baseOptions(chain: Chain): FtpServerOptions {
  return { host: HOST, port: 0, passivePortMin: 30000, passivePortMax: 30001, passiveAddress: '', requireTls: false, loginTimeoutMs: 1000, idleTimeoutMs: 1000, logins: chain.fileHost.logins, outcomes: chain.fileHost.audit, log: silentLogger };
}

test('ftp-srv does not take over SIGTERM/SIGINT (it would exit without flushing the audit)', async (t) => {
  const chain = await startChain(t);
  const before = ['SIGTERM', 'SIGINT', 'SIGQUIT'].map((s) => process.listenerCount(s));
  const server = new FtpServer({ ...baseOptions(chain), ...passiveRange(2) });
  await server.start();
  t.deepEqual(['SIGTERM', 'SIGINT', 'SIGQUIT'].map((s) => process.listenerCount(s)), before);
  await server.close(0);
});

test('options are checked field by field', async (t) => {
  const chain = await startChain(t);
  const base = baseOptions(chain);
  t.throws(() => new FtpServer({ ...base, passivePortMax: 29999 }), { message: /options\.passivePortMax must be >= options\.passivePortMin/ });
  t.throws(() => new FtpServer({ ...base, port: 70000 }), { message: /options\.port/ });
  t.throws(() => new FtpServer({ ...base, passiveAddress: 'example.com' }), { message: /options\.passiveAddress/ });
  t.throws(() => new FtpServer({ ...base, loginTimeoutMs: 0 }), { message: /options\.loginTimeoutMs/ });
  t.throws(() => new FtpServer({ ...base, tls: { cert: 'not a certificate', key: 'nor a key' } }), { message: /options\.tls is not a usable PEM/ });
});

// ---------------------------------------------------------------------------------------------
// Robustness

test('nothing a client sends crashes the server', async (t) => {
  const { ftp, content, path } = await setup(t);
  const raw = await Raw.open(t, ftp.address.port);
  t.is((await raw.reply()).code, 220);
  await raw.login();
  for (const line of ['', 'LIST -la /acme-db/../..', 'RETR', 'SIZE', 'CWD', 'MDTM', 'REST -1', 'REST 99999999999999999999', 'TYPE Q', 'MODE Z', 'OPTS', 'OPTS FOO', 'PROT P', 'PBSZ 0', 'EPSV 3', 'HELP', 'STAT', 'STAT /', 'SITE', 'MLST /nope', 'USER other', 'ALLO 10']) {
    raw.socket.write(`${line}\r\n`);
    if (line === '') continue;
    const res = await raw.reply();
    t.true(res.code >= 200 && res.code < 600, `${line}: ${res.text}`);
  }
  // Transfers without a passive port first.
  t.is((await raw.send(`RETR ${path}`)).code, 425);
  t.is((await raw.send('MLSD /')).code, 425);
  // A command cut across TCP chunks still arrives whole.
  raw.socket.write('NO');
  await new Promise((r) => setTimeout(r, 50));
  raw.socket.write('OP\r\n');
  t.is((await raw.reply()).code, 200);
  // Pipelined commands are answered in order.
  raw.socket.write('NOOP\r\nPWD\r\nSYST\r\n');
  t.deepEqual([(await raw.reply()).code, (await raw.reply()).code, (await raw.reply()).code], [200, 257, 215]);
  // Binary junk, a reply-injection attempt, then a line far too long: 500 and the connection closes.
  t.is((await raw.send(Buffer.from([0x00, 0xff, 0xf4, 0x80, 0x0d, 0x0a]))).code, 502);
  const injected = await raw.send('CWD /x\u0007\r\n230 fake');
  t.is(injected.code, 550);
  t.is((await raw.reply()).code, 502, 'the injected line is a command of its own, and unknown');
  raw.socket.write(`RETR ${'a'.repeat(10_000)}\r\n`);
  t.is((await raw.reply()).code, 500);
  await raw.whenClosed();

  // Garbage instead of a TLS handshake after AUTH TLS.
  const tls = await Raw.open(t, ftp.address.port);
  await tls.reply();
  t.is((await tls.send('AUTH TLS')).code, 234);
  tls.socket.write('this is not a ClientHello\r\n\r\n');
  await tls.whenClosed();
  // Plaintext commands sent along with AUTH TLS are dropped, not run.
  const injection = await Raw.open(t, ftp.address.port);
  await injection.reply();
  injection.socket.write('AUTH TLS\r\nUSER globex\r\n');
  t.is((await injection.reply()).code, 234);
  injection.socket.destroy();

  // A client that connects and vanishes, and one that resets mid-transfer.
  (await Raw.open(t, ftp.address.port)).socket.destroy();
  const reset = await Raw.open(t, ftp.address.port);
  await reset.reply();
  await reset.login();
  const epsv = await reset.send('EPSV');
  const port = Number(/\|\|\|(\d+)\|/.exec(epsv.text)![1]);
  const data = tcpConnect({ host: HOST, port });
  data.on('error', () => {});
  await new Promise((r) => data.once('connect', r));
  reset.socket.write(`RETR ${path}\r\n`);
  await reset.reply();
  data.resetAndDestroy();
  reset.socket.resetAndDestroy();

  await waitFor(() => ftp.sessions === 0 && ftp.passivePortsHeld === 0, 10_000, 'every session to end');
  const client = await login(t, ftp);
  t.true((await download(client, path)).equals(content), 'still serving');
});

test('with the gateway down a login gets 421 and the server keeps running; once it is back, logins work', async (t) => {
  const { chain, ftp, content, path } = await setup(t);
  const port = chain.service.address!.port;
  await chain.service.close(0);
  await waitFor(() => !chain.web.db.connected, 5000, 'the web host to notice');
  const down = await errorOf(login(t, ftp));
  t.is(down.code, 421);
  t.regex(down.message, /service not available, try again later/i);
  const raw = await Raw.open(t, ftp.address.port);
  t.is((await raw.reply()).code, 220, 'still greeting');
  // The internal-db comes back on its port, with its database.
  const back = await InternalDbService.start({
    dbPath: join(chain.dir, 'db', 'fulfillment.sqlite'),
    synchronous: 'full',
    scryptLogN: 14,
    authCacheSeconds: 300,
    backupDir: join(chain.dir, 'backups'),
    backupIntervalMinutes: 0,
    backupKeep: 3,
    mode: 'listen',
    listenHost: HOST,
    listenPort: port,
    dialHost: HOST,
    dialPort: 1,
    log: silentLogger,
    commlink: { bag: chain.bag },
  });
  t.teardown(() => back.close(0));
  await waitFor(() => chain.web.db.connected, 10_000, 'the web host to reconnect');
  const client = await login(t, ftp);
  t.true((await download(client, path)).equals(content));
});

test('close() ends sessions with 421, frees the passive ports, and is idempotent', async (t) => {
  const { ftp } = await setup(t);
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('EPSV')).code, 229);
  t.is(ftp.passivePortsHeld, 1);
  const closing = ftp.close(100);
  t.is(ftp.close(), closing);
  const bye = await raw.reply();
  t.is(bye.code, 421);
  await closing;
  await raw.whenClosed();
  t.is(ftp.passivePortsHeld, 0);
  t.is(ftp.sessions, 0);
  await t.throwsAsync(Raw.open(t, ftp.address.port));
});
