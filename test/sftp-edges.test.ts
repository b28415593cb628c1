/**
 * The SFTP server's edges under attack: silent TCP connections (before any SSH identification),
 * public-key probes with a customer's public key, unbounded handles, and a client that stops
 * reading. Real servers, real clients, several source addresses on 127.0.0.0/8.
 */
import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import ssh2, { type ParsedKey, type SFTPWrapper } from 'ssh2';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { publish, startChain, type Chain, type ChainOptions } from './helpers/chain.js';
import { readRemote, sftpConnect, type SftpConnection } from './helpers/sftp.js';
import { waitFor, within } from './helpers/wait.js';
import type { FileHostOptions } from '../services/ftp/service.js';

const hostKey = generateEd25519().private;
const PASSWORD = 'correct horse battery';
const { STATUS_CODE } = ssh2.utils.sftp;

interface Setup {
  chain: Chain;
  port: number;
  content: Buffer;
  path: string;
}

async function setup(t: ExecutionContext, fileHost: Partial<FileHostOptions> = {}, size = 300_000): Promise<Setup> {
  const options: ChainOptions = { fileHost: { sftp: { port: 0, hostKey }, ...fileHost } };
  const chain = await startChain(t, options);
  const content = randomBytes(size);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  return { chain, port: chain.fileHost.sftpAddress!.port, content, path: staged.files[0]!.path };
}

/** Nothing held: every connection, session and not-yet-logged-in slot given back. */
function limitsEmpty(chain: Chain): boolean {
  const counts = chain.fileHost.logins.limits.counts();
  return Object.keys(counts.customers).length + Object.keys(counts.addresses).length + Object.keys(counts.unauthenticated).length === 0;
}

function countsText(chain: Chain): string {
  return `the session counts to return to zero (now ${JSON.stringify(chain.fileHost.logins.limits.counts())})`;
}

/** A TCP connection that never says anything: did the server greet it (its SSH identification), and has it closed? */
interface Silent {
  socket: Socket;
  greeted: boolean;
  isClosed: boolean;
  closed: Promise<void>;
}

function silentConnection(port: number, localAddress: string): Promise<Silent> {
  const socket = connect({ host: '127.0.0.1', port, localAddress });
  const silent: Silent = { socket, greeted: false, isClosed: false, closed: Promise.resolve() };
  silent.closed = new Promise((resolve) =>
    socket.once('close', () => {
      silent.isClosed = true;
      resolve();
    }),
  );
  socket.on('error', () => {}); // a refused connection may be reset
  socket.on('data', () => (silent.greeted = true));
  return new Promise((resolve) => {
    socket.once('connect', () => resolve(silent));
    socket.once('close', () => resolve(silent));
  });
}

const floodBeforeIdentification = test.macro(async (t, workers: number) => {
  const { chain, port, content, path } = await setup(t, { sftp: { port: 0, hostKey, workers }, sessions: { loginTimeoutSeconds: 15 } });
  // The login timeout outlasts opening all 400 on a loaded machine: none of the admitted may time out (and free its place) before the last is opened.
  const perAddress = chain.fileHost.sessions.maxSessionsPerAddress; // 50, the default
  const silent = await Promise.all(Array.from({ length: 400 }, () => silentConnection(port, '127.0.0.5')));
  t.teardown(() => silent.forEach((s) => s.socket.destroy()));
  // Over the address's limit: closed at once, never greeted (ssh2 never had them); the rest are
  // greeted and wait for their login timeout.
  const refused = () => silent.filter((s) => s.isClosed && !s.greeted).length;
  const greeted = () => silent.filter((s) => s.greeted).length;
  await waitFor(
    () => refused() === 400 - perAddress && greeted() === perAddress,
    30_000,
    () => `${400 - perAddress} closed at accept and ${perAddress} greeted (closed at accept ${refused()}, greeted ${greeted()})`,
  );
  const real = await sftpConnect({ port, username: 'globex', password: PASSWORD, localAddress: '127.0.0.1' });
  t.true((await readRemote(real.sftp, path)).equals(content), 'a real login from another address is served');
  real.close();
  // No SSH identification ever came: the login timeout, counted from accept, closes them all.
  await within(
    Promise.all(silent.map((s) => s.closed)),
    30_000,
    () => `every silent connection closed by the login timeout (${silent.filter((s) => !s.isClosed).length} still open)`,
  );
  await waitFor(
    () => limitsEmpty(chain),
    10_000,
    () => countsText(chain),
  );
  t.pass();
});

test(
  '400 silent TCP connections from one address: closed at accept past its limit, the rest at the login timeout; a real login is served (in process)',
  floodBeforeIdentification,
  0,
);
test(
  '400 silent TCP connections from one address: closed at accept past its limit, the rest at the login timeout; a real login is served (workers)',
  floodBeforeIdentification,
  2,
);

test('connections not yet logged in are capped over every address and worker; the cap frees as they time out', async (t) => {
  const { chain, port, content, path } = await setup(t, {
    sftp: { port: 0, hostKey, workers: 2 },
    sessions: { loginTimeoutSeconds: 10, maxUnauthenticatedConnections: 20 },
  });
  const silent = await Promise.all(Array.from({ length: 20 }, (_, i) => silentConnection(port, `127.0.0.${10 + i}`)));
  t.teardown(() => silent.forEach((s) => s.socket.destroy()));
  await waitFor(() => silent.every((s) => s.greeted), 30_000, 'twenty silent connections greeted');
  const extra = await silentConnection(port, '127.0.0.30');
  await within(extra.closed, 10_000, 'the connection past the cap closed');
  t.false(extra.greeted, 'past the cap: closed at accept');
  const refused = await t.throwsAsync(sftpConnect({ port, username: 'globex', password: PASSWORD, localAddress: '127.0.0.1', readyTimeout: 20_000 }));
  t.truthy(refused, 'while the cap is full no one gets in (as sshd with MaxStartups)');
  await within(Promise.all(silent.map((s) => s.closed)), 30_000, 'the silent connections closed by the login timeout');
  await waitFor(
    () => limitsEmpty(chain),
    10_000,
    () => countsText(chain),
  );
  const real = await sftpConnect({ port, username: 'globex', password: PASSWORD, localAddress: '127.0.0.1' });
  t.teardown(real.close);
  t.true((await readRemote(real.sftp, path)).equals(content));
});

/**
 * An SSH agent that offers `keys` and cannot sign: the client offers each key without a signature
 * (a probe); on the server's "this key would do" it asks for a signature, which fails, and goes on
 * to the next key. At the last key the signature never comes (the connection stays open).
 */
class ProbeAgent extends ssh2.BaseAgent<ParsedKey> {
  signRequests = 0;
  readonly #keys: ParsedKey[];
  readonly #lastAsked: () => void;

  constructor(keys: ParsedKey[], lastAsked: () => void) {
    super();
    this.#keys = keys;
    this.#lastAsked = lastAsked;
  }

  getIdentities(cb: (err: Error | undefined, keys?: ParsedKey[]) => void): void {
    cb(undefined, this.#keys);
  }

  sign(_key: ParsedKey, _data: Buffer, options: unknown, cb?: (err?: Error, signature?: Buffer) => void): void {
    const callback = (typeof options === 'function' ? options : cb) as (err?: Error) => void;
    this.signRequests++;
    if (this.signRequests === this.#keys.length) return this.#lastAsked(); // held here: no answer
    callback(new Error('no private key here'));
  }
}

function publicKeyOf(openssh: string): ParsedKey {
  const parsed = ssh2.utils.parseKey(openssh);
  if (parsed instanceof Error) throw parsed;
  return Array.isArray(parsed) ? parsed[0]! : parsed;
}

/** A connection that probes `key` `times` times with the customer's login; resolves when it waits on its last probe, or has closed. */
function prober(port: number, localAddress: string, key: ParsedKey, times: number): Promise<{ client: ssh2.Client; agent: ProbeAgent; closed: boolean }> {
  return new Promise((resolve) => {
    const client = new ssh2.Client();
    const result = { client, agent: undefined as unknown as ProbeAgent, closed: false };
    result.agent = new ProbeAgent(
      Array.from({ length: times }, () => key),
      () => resolve(result),
    );
    client.on('error', () => {}); // each failed signature is reported as an error; the client goes on
    client.on('close', () => {
      result.closed = true;
      resolve(result);
    });
    let offered = false;
    client.connect({
      host: '127.0.0.1',
      port,
      localAddress,
      username: 'globex',
      readyTimeout: 60_000,
      authHandler: (_methods, _partial, next) => {
        if (offered) return next(false as never);
        offered = true;
        next({ type: 'agent', username: 'globex', agent: result.agent } as never);
      },
    });
  });
}

test('public-key probes with a customer’s public key take no session: the customer still logs in up to its limit, and every count returns to zero', async (t) => {
  const { chain, port, content, path } = await setup(t, { sessions: { maxSessionsPerCustomer: 3, loginTimeoutSeconds: 60, maxSessionsPerAddress: 100 } });
  const key = generateEd25519('globex laptop');
  await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
  // Anyone with the login and the public key (published on a key server, say) probes, many times over many connections.
  const probes = await Promise.all(Array.from({ length: 30 }, (_, i) => prober(port, `127.0.0.${6 + (i % 3)}`, publicKeyOf(key.public), 5)));
  t.teardown(() => probes.forEach((p) => p.client.end()));
  t.deepEqual(
    probes.map((p) => [p.closed, p.agent.signRequests]),
    probes.map(() => [false, 5]),
    'every probe was answered "this key would do", and each connection still waits',
  );
  t.deepEqual(chain.fileHost.logins.limits.counts().customers, {}, 'probes hold no session');
  const sessions: SftpConnection[] = [];
  t.teardown(() => sessions.forEach((s) => s.close()));
  for (let i = 0; i < 3; i++) sessions.push(await sftpConnect({ port, username: 'globex', privateKey: key.private, localAddress: '127.0.0.1' }));
  t.true((await readRemote(sessions[0]!.sftp, path)).equals(content), 'the customer logs in with its key while the probes wait');
  await t.throwsAsync(sftpConnect({ port, username: 'globex', password: PASSWORD, localAddress: '127.0.0.1' }), undefined, 'its own limit still holds');
  probes.forEach((p) => p.client.end());
  sessions.forEach((s) => s.close());
  await waitFor(
    () => limitsEmpty(chain),
    15_000,
    () => countsText(chain),
  );
  for (let i = 0; i < 3; i++) sessions.push(await sftpConnect({ port, username: 'globex', password: PASSWORD, localAddress: '127.0.0.1' }));
  t.is(chain.fileHost.logins.limits.counts().customers.globex, 3, 'and after they are gone, up to its limit again');
  t.deepEqual(chain.fileHost.logins.defender.banned(), [], 'probing a registered key is no failure');
});

test('keys that are not registered cost no defender points; a connection out of attempts is closed and counts once', async (t) => {
  const { chain, port } = await setup(t, { sessions: { defenderThreshold: 2, sftpMaxAuthAttempts: 4 } });
  // A client with three keys, none registered, tries each: a normal part of SSH, many times over.
  for (let i = 0; i < 5; i++) {
    const unregistered = Array.from({ length: 3 }, () => publicKeyOf(generateEd25519().public));
    const err = await t.throwsAsync(
      sftpConnect({
        port,
        username: 'globex',
        localAddress: '127.0.0.7',
        agent: new ProbeAgent(unregistered, () => {}) as never,
        authHandler: ['agent'] as never,
      }),
    );
    t.is((err as { level?: string }).level, 'client-authentication', `connection ${i + 1} is refused as a failed login`);
  }
  t.deepEqual(chain.fileHost.logins.defender.banned(), [], 'fifteen keys not registered: no ban');
  // Past sftpMaxAuthAttempts on one connection: closed, and one point each time.
  for (let i = 0; i < 2; i++) {
    const many = Array.from({ length: 8 }, () => publicKeyOf(generateEd25519().public));
    const agent = new ProbeAgent(many, () => {});
    await t.throwsAsync(sftpConnect({ port, username: 'globex', localAddress: '127.0.0.8', agent: agent as never, authHandler: ['agent'] as never }));
  }
  t.deepEqual(
    chain.fileHost.logins.defender.banned().map((b) => b.address),
    ['127.0.0.8'],
    'two connections out of attempts: banned at the threshold of 2',
  );
});

function openFile(sftp: SFTPWrapper, path: string): Promise<{ handle?: Buffer; code: number; message: string }> {
  return new Promise((resolve) =>
    sftp.open(path, 'r', (err, handle) =>
      resolve(err ? { code: (err as { code?: number }).code ?? -1, message: err.message } : { handle, code: 0, message: '' }),
    ),
  );
}

function openDir(sftp: SFTPWrapper, path: string): Promise<{ handle?: Buffer; code: number; message: string }> {
  return new Promise((resolve) =>
    sftp.opendir(path, (err, handle) =>
      resolve(err ? { code: (err as { code?: number }).code ?? -1, message: err.message } : { handle, code: 0, message: '' }),
    ),
  );
}

test('open handles are capped per connection: past the cap OPEN and OPENDIR fail with a clear message; closing one makes room', async (t) => {
  const { port, path } = await setup(t, { sessions: { sftpMaxHandles: 8 } });
  const { client, sftp, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const opened: { handle?: Buffer; code: number }[] = [];
  for (let i = 0; i < 6; i++) opened.push(await openFile(sftp, path));
  for (let i = 0; i < 2; i++) opened.push(await openDir(sftp, '/acme-db'));
  t.true(
    opened.every((o) => o.code === 0),
    'eight handles',
  );
  const ninth = await openFile(sftp, path);
  t.is(ninth.code, STATUS_CODE.FAILURE);
  t.regex(ninth.message, /too many open handles \(8 per connection\)/);
  t.is((await openDir(sftp, '/')).code, STATUS_CODE.FAILURE, 'directories count too');
  // A second sftp session on the same connection shares the budget.
  const second = await new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, s) => (err ? reject(err) : resolve(s))));
  t.is((await openFile(second, path)).code, STATUS_CODE.FAILURE, 'another session of the connection gets no more');
  await new Promise<void>((resolve, reject) => sftp.close(opened[0]!.handle!, (err) => (err ? reject(err) : resolve())));
  t.is((await openFile(second, path)).code, 0, 'closing a handle makes room');
  t.is((await openFile(sftp, path)).code, STATUS_CODE.FAILURE, 'and only one');
});

/**
 * A client with 8 MiB of READs in flight takes 1 MiB, then stops reading (`stall`) or hangs up
 * (`close`). A stalled client is cut off after transferIdleSeconds (1 s here); either way the file
 * is audited as aborted with the bytes that left: not those still waiting in ssh2 for the client's
 * window, nor those the socket had not sent.
 */
const stoppedReader = test.macro(async (t, action: 'stall' | 'close') => {
  const size = 16 * 1024 * 1024;
  const { chain, port, path } = await setup(t, { sessions: { transferIdleSeconds: 1 } }, size);
  const { client, sftp, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))));
  const socket = (client as unknown as { _sock: Socket })._sock;
  // 512 READs of 16 KiB in flight (8 MiB asked for; 16 KiB is under ssh2's largest READ, so each is
  // one request and its callback means its bytes arrived); after 1 MiB the client stops reading its socket.
  const READ = 16 * 1024;
  let received = 0;
  for (let i = 0; i < 512; i++) {
    sftp.read(handle, Buffer.alloc(READ), 0, READ, i * READ, (err, bytes) => {
      if (err) return;
      received += bytes;
      if (received < 1024 * 1024 || socket.isPaused() || socket.destroyed) return;
      if (action === 'stall') socket.pause();
      else socket.destroy();
    });
  }
  let events: { outcome: string; bytes: number }[] = [];
  await waitFor(
    async () => {
      events = (await chain.call('audit.query', { customer: 'globex', protocol: 'sftp' })).events as typeof events;
      return events.length > 0;
    },
    30_000,
    'the stalled transfer audited',
  );
  t.is(events.length, 1);
  t.is(events[0]!.outcome, 'aborted');
  // The client's SSH window (2 MiB, ssh2's and OpenSSH's) bounds what the server may send beyond
  // what the client took: bytes still waiting in ssh2 for that window, or in the socket, are not counted.
  t.log(`the client got ${received} bytes; audited: ${events[0]!.bytes}`);
  const SSH_WINDOW = 2 * 1024 * 1024;
  const slack = 64 * 1024; // a partly parsed SSH packet on the client; SSH framing of what the socket still held
  t.true(events[0]!.bytes >= received - slack, `audited ${events[0]!.bytes} bytes, the client got ${received}`);
  t.true(events[0]!.bytes <= received + SSH_WINDOW + slack, `audited ${events[0]!.bytes} bytes, the client got ${received}: at most one window more`);
  socket.destroy();
  await waitFor(
    () => limitsEmpty(chain),
    10_000,
    () => countsText(chain),
  );
});

test(
  'a client that stops reading is cut off after transferIdleSeconds; the audit records an aborted transfer with the bytes that left',
  stoppedReader,
  'stall',
);
test('a client that takes 1 MiB and hangs up: the audit records an aborted transfer with the bytes that left', stoppedReader, 'close');
