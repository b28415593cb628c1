/**
 * What a peer that has not proved it holds the bag can make a commlink listener do (PROTOCOL.md §7,
 * §8): hold one hello-sized partial line per connection, for a bounded number of connections, and
 * write a bounded number of log lines. Real sockets from several loopback addresses.
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { CommlinkServer, Errors, type KeyBag } from '../lib/commlink/index.js';
import { HELLO_MAX_LINE, helloLine } from '../lib/commlink/handshake.js';
import { KeyShare } from '../lib/commlink/key-share.js';
import { channelOptions, resolveOptions } from '../lib/commlink/options.js';
import { decodeHeader } from '../lib/commlink/packet.js';
import { RefusalLog } from '../lib/commlink/refusal-log.js';
import { SecureChannel } from '../lib/commlink/secure-channel.js';
import { suiteByName } from '../lib/commlink/suites/index.js';
import type { CodedError } from '../lib/errors/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { captureLog, makeBag, makeClient } from './helpers/commlink.js';
import { waitFor, within } from './helpers/wait.js';

interface Refusal {
  error: CodedError;
  from: string;
}

/** A listener that records its refusals; the test closes it. */
async function listener(t: ExecutionContext, options: Partial<ConstructorParameters<typeof CommlinkServer>[0]> = {}) {
  const bag = makeBag(16);
  const captured = captureLog();
  const server = new CommlinkServer({ bag, log: captured.log, handlers: { echo: (b) => b }, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  const refusals: Refusal[] = [];
  server.on('rejected', (error: CodedError, from: string) => refusals.push({ error, from }));
  t.teardown(() => server.close(0));
  return { bag, server, port, refusals, captured };
}

/** A raw TCP connection from `localAddress`; resolves once connected. */
function rawSocket(port: number, localAddress: string): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.once('connect', () => resolve(socket));
    socket.once('error', reject);
  });
}

function closed(socket: Socket): Promise<void> {
  return new Promise((resolve) => (socket.destroyed ? resolve() : socket.once('close', () => resolve())));
}

const ADDRESSES = ['127.0.0.1', '127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'];

test('many connections each sending a long partial line before the hello are closed as soon as the line passes the hello bound', async (t) => {
  // The packet limit stays at its 1 MiB default: before the hello only a hello-sized line is allowed.
  const { port, refusals, server } = await listener(t, { maxHandshaking: 1000, handshakeTimeoutMs: 60_000 });
  const sockets = await Promise.all(Array.from({ length: 60 }, (_, i) => rawSocket(port, ADDRESSES[i % ADDRESSES.length]!)));
  for (const socket of sockets) socket.on('error', () => {});
  // HELLO_MAX_LINE characters and the CR that may end them are allowed; one byte more is not.
  await Promise.all(sockets.map((s) => new Promise<void>((resolve) => s.write(Buffer.alloc(HELLO_MAX_LINE + 1, 0x41), () => resolve()))));
  for (const socket of sockets) socket.write('A');
  await within(Promise.all(sockets.map(closed)), 10_000, 'every connection closed by the listener');
  t.is(refusals.length, 60);
  for (const { error } of refusals) {
    t.is(error.code, Errors.FRAME_TOO_LONG.code, error.message);
    t.is(error.details.max, HELLO_MAX_LINE, 'the hello bound, not the packet limit');
    // Closed at the first byte past the bound: everything it held when it refused.
    t.is(error.details.length, HELLO_MAX_LINE + 2);
  }
  t.deepEqual(new Set(refusals.map((r) => r.from)), new Set(ADDRESSES));
  t.is(server.handshaking, 0);

  // A megabyte of partial line each: closed within the first read past the bound, never buffered.
  const floods = await Promise.all(Array.from({ length: 30 }, (_, i) => rawSocket(port, ADDRESSES[i % ADDRESSES.length]!)));
  const before = refusals.length;
  for (const socket of floods) {
    socket.on('error', () => {});
    const block = Buffer.alloc(64 * 1024, 0x41);
    let sent = 0;
    const pump = () => {
      while (sent < 16 && !socket.destroyed && socket.write(block)) sent++;
      if (sent < 16 && !socket.destroyed) socket.once('drain', pump);
    };
    pump();
  }
  await within(Promise.all(floods.map(closed)), 10_000, 'every flooding connection closed');
  await waitFor(() => refusals.length === before + 30, 5000, 'a refusal per flooding connection');
  for (const { error } of refusals.slice(before)) {
    t.is(error.code, Errors.FRAME_TOO_LONG.code);
    t.true((error.details.length as number) <= HELLO_MAX_LINE + 1 + 64 * 1024, `held ${String(error.details.length)} bytes at most`);
  }
});

test('over the cap, new connections in the hello exchange are refused at once while an authenticated client still works', async (t) => {
  const { bag, port, server, refusals } = await listener(t, { maxHandshaking: 8, handshakeTimeoutMs: 60_000 });
  const trusted = makeClient({ bag, port });
  t.teardown(() => trusted.close(0));
  t.deepEqual(await trusted.request('echo', { n: 1 }), { n: 1 });

  // Eight silent connections fill the hello exchange.
  const holders = await Promise.all(Array.from({ length: 8 }, (_, i) => rawSocket(port, ADDRESSES[i % ADDRESSES.length]!)));
  for (const socket of holders) socket.on('error', () => {});
  await waitFor(() => server.handshaking === 8, 5000, 'eight connections in the hello exchange');
  // Twenty more are closed by the listener at once, from every address.
  const extra = await Promise.all(Array.from({ length: 20 }, (_, i) => rawSocket(port, ADDRESSES[i % ADDRESSES.length]!)));
  for (const socket of extra) socket.on('error', () => {});
  await within(Promise.all(extra.map(closed)), 5000, 'the connections over the cap closed by the listener');
  await waitFor(() => refusals.length >= 20, 5000, 'twenty refusals');
  t.true(refusals.every((r) => r.error.code === Errors.HANDSHAKE_LIMIT.code));
  t.true(
    holders.every((s) => !s.destroyed),
    'the connections under the cap are still open',
  );
  t.is(server.handshaking, 8);
  // The authenticated connection is not counted and goes on working.
  t.deepEqual(await trusted.request('echo', { n: 2 }), { n: 2 });
  t.is(server.peers.size, 1);

  // A new client cannot get in while the cap is full, and gets in once it frees.
  const late = makeClient({ bag, port, reconnectMinMs: 20, reconnectMaxMs: 50 });
  t.teardown(() => late.close(0));
  const lateRefused = new Promise<void>((resolve) => late.once('reconnecting', () => resolve()));
  const lateConnected = late.connect(10_000);
  await within(lateRefused, 5000, 'the late client refused');
  t.false(late.connected);
  for (const socket of holders) socket.destroy();
  await within(lateConnected, 10_000, 'the late client connected once the cap freed');
  t.deepEqual(await late.request('echo', { n: 3 }), { n: 3 });
});

test('refusals are logged at a bounded rate; the rest are counted and reported in one line', async (t) => {
  const { port, server, refusals, captured } = await listener(t, { refusalLogLines: 3, refusalLogIntervalMs: 3_600_000 });
  for (let i = 0; i < 30; i++) {
    const socket = await rawSocket(port, ADDRESSES[i % ADDRESSES.length]!);
    socket.on('error', () => {});
    socket.write('QUJD\n'); // a bare LF: refused at once
    await closed(socket);
  }
  await waitFor(() => refusals.length === 30, 5000, 'thirty refusals');
  const lines = () => captured.records.filter((r) => r.msg === 'commlink connection rejected');
  t.is(lines().length, 3, 'three warn lines in the interval, not thirty');
  await server.close(0); // the summary is written at the end of the interval, or at close
  const summary = captured.records.filter((r) => r.msg === 'commlink refusals not logged');
  t.is(summary.length, 1);
  t.like(summary[0], { level: 'warn', suppressed: 27, codes: { [Errors.FRAME_BAD_CHARS.code]: 27 } });
  t.is(lines().length, 3);
});

test('a dialling client logs its failed hellos at a bounded rate too', async (t) => {
  const { port } = await listener(t);
  const captured = captureLog();
  // Another bag: every attempt is refused; it redials every few ms.
  const client = makeClient({ bag: makeBag(16), port, log: captured.log, reconnectMinMs: 10, reconnectMaxMs: 20, refusalLogLines: 2 });
  t.teardown(() => client.close(0));
  let attempts = 0;
  const enough = new Promise<void>((resolve) =>
    client.on('reconnecting', () => {
      if (++attempts === 20) resolve();
    }),
  );
  void client.connect(30_000).catch(() => {});
  await within(enough, 20_000, 'twenty refused attempts');
  const warned = captured.records.filter((r) => r.level === 'warn' && r.msg !== 'commlink refusals not logged');
  t.true(warned.length <= 2, `${warned.length} warn lines for ${attempts} refused attempts`);
  await client.close(0);
  const summary = captured.records.find((r) => r.msg === 'commlink refusals not logged');
  t.truthy(summary);
  t.true((summary!.suppressed as number) >= 18);
});

test('a number beyond any double (1e999) never reaches a handler: the connection is closed with ERR_TOBJ_TYPE', async (t) => {
  const bag = makeBag();
  let reached = false;
  const echo = (body: Record<string, unknown>) => {
    reached = true;
    return body;
  };
  const server = new CommlinkServer({ bag, log: captureLog().log, handlers: { echo: echo as never } });
  const { port } = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.close(0));
  const rejected = new Promise<CodedError>((resolve) => server.once('rejected', resolve));
  const raw = await rawCommlinkClient(bag, port);
  raw.channel.sendMessages(Buffer.from('<tobj type="echo" id="1"><n t="num">1e999</n></tobj>'));
  const reason = await within(rejected, 5000, 'the refusal');
  t.is(reason.code, Errors.TOBJ_TYPE.code, reason.message);
  t.regex(reason.message, /not a finite number/);
  await raw.closed;
  t.false(reached, 'the handler never saw Infinity');
});

/** A client channel that completes the hello and then sends what the test says. */
async function rawCommlinkClient(bag: KeyBag, port: number) {
  const socket = await rawSocket(port, '127.0.0.1');
  socket.on('error', () => {});
  const refusals = new RefusalLog(silentLogger, { lines: 1, intervalMs: 1000 });
  const channel = new SecureChannel(socket, channelOptions(resolveOptions({ bag, log: silentLogger }), 'client', silentLogger, refusals));
  await channel.ready;
  const closedChannel = new Promise<void>((resolve) =>
    channel.attach({ onMessages: () => {}, onChunk: () => {}, onDrain: () => {}, onClose: () => resolve() }),
  );
  return { channel, closed: closedChannel };
}

const BAD_WINDOWS: [string, unknown][] = [
  ['below 65,536', 65_535],
  ['above 268,435,456', 268_435_457],
  ['zero', 0],
  ['not an integer', 65_536.5],
  ['a string', '4194304'],
];

for (const [what, window] of BAD_WINDOWS) {
  test(`a client hello whose window is ${what} is refused (ERR_HANDSHAKE), as PROTOCOL.md §8 specifies`, async (t) => {
    const { bag, port, refusals, server } = await listener(t);
    const socket = await rawSocket(port, '127.0.0.2');
    socket.on('error', () => {});
    const suite = suiteByName('aes-256-gcm');
    const salt = Buffer.alloc(16, 7);
    socket.write(helloLine(suite, bag.keyForPort(socket.localPort!), bag, salt, 'c2s', { share: new KeyShare().publicKey, window: window as number }));
    await within(closed(socket), 5000, 'the connection closed');
    await waitFor(() => refusals.length === 1, 5000, 'the refusal');
    t.is(refusals[0]!.error.code, Errors.HANDSHAKE.code, refusals[0]!.error.message);
    t.regex(refusals[0]!.error.message, /window must be an integer from 65536 to 268435456/);
    t.is(server.peers.size, 0);
  });
}

test('a server hello with a bad window is refused by the client', async (t) => {
  // A fake server that holds the bag but answers with a window of 1 byte (a sender would then
  // send one-byte chunks).
  const bag = makeBag();
  const fake = createServer((socket) => {
    socket.on('error', () => {});
    socket.once('data', (line: Buffer) => {
      const { header } = decodeHeader(Buffer.from(line.toString('latin1').trim(), 'base64'));
      const suite = suiteByName('aes-256-gcm');
      const answer = helloLine(suite, bag.keyForPort(socket.remotePort!), bag, Buffer.alloc(16, 9), 's2c', {
        share: new KeyShare().publicKey,
        window: 1,
        echo: Buffer.from(header.salt!),
      });
      socket.write(answer);
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => fake.close(() => resolve())));
  const client = makeClient({ bag, port: (fake.address() as AddressInfo).port, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  t.teardown(() => client.close(0));
  const failed = new Promise<CodedError>((resolve) => client.once('reconnecting', (e: { error: CodedError }) => resolve(e.error)));
  void client.connect(5000).catch(() => {});
  const error = await within(failed, 5000, 'the client to refuse the hello');
  t.is(error.code, Errors.HANDSHAKE.code, error.message);
  t.regex(error.message, /window must be an integer/);
  t.false(client.connected);
});

test('an FFS/1 peer is refused at its hello, by name (PROTOCOL.md: no negotiation)', async (t) => {
  const { bag, port, refusals } = await listener(t);
  const socket = await rawSocket(port, '127.0.0.3');
  socket.on('error', () => {});
  // A hello as FFS/1 framed it: version byte 0x01.
  const line = helloLine(suiteByName('aes-256-gcm'), bag.keyForPort(socket.localPort!), bag, Buffer.alloc(16, 1), 'c2s', {
    share: new KeyShare().publicKey,
    window: 65_536,
  });
  const packet = Buffer.from(line.toString('latin1').trim(), 'base64');
  packet[0] = 0x01;
  socket.write(`${packet.toString('base64')}\r\n`);
  await within(closed(socket), 5000, 'the connection closed');
  await waitFor(() => refusals.length === 1, 5000, 'the refusal');
  t.is(refusals[0]!.error.code, Errors.HANDSHAKE.code);
  t.regex(refusals[0]!.error.message, /peer speaks FFS\/1/);
});
