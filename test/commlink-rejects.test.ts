import { connect } from 'node:net';
import { randomBytes } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { CommlinkServer, Errors } from '../lib/commlink/index.js';
import { captureLog, makeBag, makeClient, startServer } from './helpers/commlink.js';
import { LineProxy, type LineHook } from './helpers/line-proxy.js';
import type { CodedError } from '../lib/errors/index.js';
import { deferred } from './helpers/wait.js';

/** A server that logs what it rejects; the test proves it still serves a well-behaved client. */
async function setup(t: ExecutionContext, maxPacketLength = 64 * 1024) {
  const bag = makeBag(16);
  const captured = captureLog();
  const server = new CommlinkServer({ bag, log: captured.log, maxPacketLength, handlers: { echo: (b) => b } });
  const { port } = await server.listen(0);
  const rejected: CodedError[] = [];
  server.on('rejected', (err: CodedError) => rejected.push(err));
  t.teardown(() => server.close(100));
  const stillServes = async () => {
    const client = makeClient({ bag, port });
    try {
      t.deepEqual(await client.request('echo', { ok: 'yes' }, { timeoutMs: 3000 }), { ok: 'yes' });
    } finally {
      await client.close();
    }
  };
  const nextRejection = () =>
    new Promise<CodedError>((resolve) => {
      if (rejected.length) resolve(rejected.shift() as CodedError);
      else server.once('rejected', () => resolve(rejected.shift() as CodedError));
    });
  return { bag, port, server, captured, stillServes, nextRejection };
}

/**
 * Runs a client through a proxy whose hook rewrites client-to-server lines; `firstDataPacket`
 * resolves when the proxy has the client's first data packet (line 1) in hand.
 */
async function throughProxy(t: ExecutionContext, env: Awaited<ReturnType<typeof setup>>, hook: LineHook) {
  const proxy = new LineProxy(env.port);
  const firstDataPacket = deferred();
  proxy.hook = (line, i) => {
    if (i === 1) firstDataPacket.resolve();
    return hook(line, i);
  };
  const proxyPort = await proxy.listen();
  const client = makeClient({ bag: env.bag, port: proxyPort, reconnectMinMs: 5000, reconnectMaxMs: 5000 });
  t.teardown(async () => {
    await client.close(0);
    await proxy.close();
  });
  return { client, firstDataPacket: firstDataPacket.promise };
}

// Line 0 is the client hello; line 1 is the first data packet; line 2 the second.
const cases: { name: string; code: string; hook: LineHook }[] = [
  {
    name: 'tampered (one character of the ciphertext changed)',
    code: Errors.PACKET_AUTH.code,
    hook: (line, i) => {
      if (i !== 1) return [line];
      const at = Math.floor(line.length / 2);
      return [line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1)];
    },
  },
  { name: 'replayed (a data packet sent twice)', code: Errors.PACKET_SEQUENCE.code, hook: (line, i) => (i === 1 ? [line, line] : [line]) },
  {
    name: 'reordered (two data packets swapped)',
    code: Errors.PACKET_SEQUENCE.code,
    hook: (() => {
      let held: string | undefined;
      return (line: string, i: number) => {
        if (i === 1) {
          held = line;
          return [];
        }
        if (i === 2 && held) return [line, held];
        return [line];
      };
    })(),
  },
  { name: 'dropped (a data packet lost)', code: Errors.PACKET_SEQUENCE.code, hook: (line, i) => (i === 1 ? [] : [line]) },
  { name: 'truncated (a packet cut short by 4 characters)', code: Errors.PACKET_AUTH.code, hook: (line, i) => (i === 1 ? [line.slice(0, -4)] : [line]) },
  { name: 'truncated off the 4-character grid', code: Errors.FRAME_BAD_CHARS.code, hook: (line, i) => (i === 1 ? [line.slice(0, -3)] : [line]) },
  { name: 'garbage (non-base64 bytes)', code: Errors.FRAME_BAD_CHARS.code, hook: (line, i) => (i === 1 ? ['\u00ff\u00fe hello $$$$'] : [line]) },
  {
    name: 'garbage (random base64 packet)',
    code: Errors.PACKET_MALFORMED.code,
    hook: (line, i) => (i === 1 ? [Buffer.concat([Buffer.from([9]), randomBytes(40)]).toString('base64')] : [line]),
  },
  {
    name: 'forged (well-formed header, random body)',
    code: Errors.PACKET_AUTH.code,
    hook: (line, i) => {
      if (i !== 1) return [line];
      const packet = Buffer.from(line, 'base64');
      return [Buffer.concat([packet.subarray(0, 11), randomBytes(packet.length - 11)]).toString('base64')];
    },
  },
  {
    name: 'tampered hello',
    code: Errors.PACKET_AUTH.code,
    hook: (line, i) => {
      if (i !== 0) return [line];
      const packet = Buffer.from(line, 'base64');
      packet[packet.length - 1] ^= 1;
      return [packet.toString('base64')];
    },
  },
];

for (const c of cases) {
  test(`a ${c.name} packet closes that connection, is logged, and the server keeps serving`, async (t) => {
    const env = await setup(t);
    const { client, firstDataPacket } = await throughProxy(t, env, c.hook);
    // Two requests in two packets (the outbox coalesces what is sent in one turn of the loop): the
    // second is made once the first has left, or has failed (a tampered hello sends no data packet).
    const first = client.request('echo', { n: 1 }, { timeoutMs: 2000 });
    const firstGone = Promise.race([
      firstDataPacket,
      first.then(
        () => {},
        () => {},
      ),
    ]);
    const outcome = await Promise.allSettled([first, firstGone.then(() => client.request('echo', { n: 2 }, { timeoutMs: 2000 }))]);
    t.true(
      outcome.some((o) => o.status === 'rejected'),
      'the tampered exchange fails',
    );
    const reason = await env.nextRejection();
    t.is(reason.code, c.code, reason.message);
    const logged = await env.captured.waitFor((r) => r.msg === 'commlink connection rejected');
    t.is(logged.code, c.code);
    await env.stillServes();
  });
}

test('a peer with another key bag is refused at its first packet', async (t) => {
  const env = await setup(t);
  const client = makeClient({ bag: makeBag(16), port: env.port, reconnectMinMs: 5000, reconnectMaxMs: 5000 });
  t.teardown(() => client.close(0));
  const err = await t.throwsAsync(client.request('echo', {}, { timeoutMs: 1000 }));
  t.is((err as CodedError).code, Errors.NOT_CONNECTED.code);
  const reason = await env.nextRejection();
  t.is(reason.code, Errors.HANDSHAKE.code);
  t.regex(reason.message, /another key bag/);
  await env.stillServes();
});

test('an over-long line is refused once it passes the limit, without buffering the rest', async (t) => {
  const env = await setup(t, 4096);
  const socket = connect({ host: '127.0.0.1', port: env.port });
  socket.on('error', () => {});
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('connect', () => {
    // 64 MiB of base64 characters and no CR LF: the server must close long before the end.
    const block = Buffer.alloc(1024 * 1024, 0x41);
    let sent = 0;
    const pump = () => {
      while (sent < 64 && socket.write(block)) sent++;
      if (sent < 64 && !socket.destroyed) socket.once('drain', pump);
    };
    pump();
  });
  const reason = await env.nextRejection();
  t.is(reason.code, Errors.FRAME_TOO_LONG.code);
  await closed;
  await env.stillServes();
});

test('a bare line feed and a silent connection are refused', async (t) => {
  const env = await setup(t);
  const socket = connect({ host: '127.0.0.1', port: env.port });
  socket.on('error', () => {});
  socket.on('connect', () => socket.write('QUJD\n'));
  t.is((await env.nextRejection()).code, Errors.FRAME_BAD_CHARS.code);
  await env.stillServes();
});

test('a connection that never says hello is closed after the handshake timeout', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, handshakeTimeoutMs: 200 });
  t.teardown(() => server.close(0));
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  const rejected = new Promise<CodedError>((resolve) => server.once('rejected', resolve));
  t.is((await rejected).code, Errors.HANDSHAKE.code);
});
