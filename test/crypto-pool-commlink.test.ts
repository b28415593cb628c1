import { Readable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { CommlinkServer, Errors, type RequestContext } from '../lib/commlink/index.js';
import { SUITE_NAMES, type SuiteName } from '../lib/commlink/suites/index.js';
import { CryptoPool } from '../lib/crypto-pool/index.js';
import { captureLog, makeBag, makeClient, startServer } from './helpers/commlink.js';
import { LineProxy, type LineHook } from './helpers/line-proxy.js';
import { patternStream, sha256OfStream } from './helpers/pattern-stream.js';
import { SLOW_RECEIVER_WINDOW, streamToSlowReceiver } from './helpers/slow-receiver.js';
import type { CodedError } from '../lib/errors/index.js';
import { deferred, within } from './helpers/wait.js';

const MiB = 1024 * 1024;

function makePool(t: ExecutionContext, maxPendingChunks = 8): CryptoPool {
  const pool = new CryptoPool({ maxThreads: 2, minThreads: 0, maxPendingChunks });
  t.teardown(() => pool.close());
  return pool;
}

const ingest = { ingest: async (_body: unknown, ctx: RequestContext) => sha256OfStream(ctx.stream as Readable) };

/** Client seals, server opens: each side with or without the pool. */
async function roundTrip(
  t: ExecutionContext,
  suite: SuiteName,
  sender: CryptoPool | undefined,
  receiver: CryptoPool | undefined,
  total: number,
  limits: { maxPacketLength?: number; desKeyLimitBytes?: number } = {},
) {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, acceptSuites: [suite], handlers: ingest, chunkCrypto: receiver, ...limits });
  const client = makeClient({ bag, port, suite, chunkCrypto: sender, ...limits });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const expected = await sha256OfStream(patternStream(total));
  // ffs.end carries the byte count and is a MESSAGES packet sent after the last chunk: had it
  // overtaken a chunk still in the pool, the receiver would fail the stream (count mismatch).
  const reply = await client.request('ingest', {}, { stream: patternStream(total, 100 * 1024), timeoutMs: 60_000 });
  t.is(reply.bytes, total);
  t.is(reply.hash, expected.hash);
  // Requests after the stream still work: the sequence numbers stayed in step both ways.
  t.like(await client.request('ingest', {}, { stream: Readable.from([Buffer.alloc(10, 1)]) }), { bytes: 10 });
}

for (const suite of SUITE_NAMES) {
  test(`${suite}: a bulk stream sealed and opened in the pool arrives byte-identical`, async (t) => {
    await roundTrip(t, suite, makePool(t), makePool(t), 48 * MiB + 12345);
  });
}

test('des-ede3-cbc-hmac-sha256 with a small key limit: chunks sealed in the pool follow each move to a next key in order', async (t) => {
  // ~12 KiB chunks (over the offload threshold) under keys of 64 KiB: a REKEY every five chunks,
  // sealed inline between chunks the pool is still sealing. Any chunk sealed with the wrong key,
  // or written out of order, would fail authentication at the receiver.
  await roundTrip(t, 'des-ede3-cbc-hmac-sha256', makePool(t), makePool(t), 2 * MiB + 7, { maxPacketLength: 16 * 1024, desKeyLimitBytes: 64 * 1024 });
});

test('the wire format is unchanged: a pooled sender talks to an inline receiver and the other way round', async (t) => {
  const pool = makePool(t);
  await roundTrip(t, 'aes-256-gcm', pool, undefined, 16 * MiB + 1);
  await roundTrip(t, 'aes-256-gcm', undefined, pool, 16 * MiB + 1);
});

test('flow control holds with the pool: a slow receiver holds the sender to one window', async (t) => {
  const { total, bytes, maxAhead } = await streamToSlowReceiver(t, { server: makePool(t), client: makePool(t, 4) });
  t.is(bytes, total);
  t.true(maxAhead <= SLOW_RECEIVER_WINDOW * 2 + 64 * 1024, `sender ran ${maxAhead} bytes ahead of the reader`);
});

/** A chunk line is long; messages and hellos are short. */
const isChunk = (line: string) => line.length > 16 * 1024;

/** Each case's hook counts chunk lines: `nth` numbers them 1, 2, 3 … (0 for other lines). */
function chunkCases(): { name: string; code: string; hook: () => LineHook }[] {
  const counter = () => {
    let seen = 0;
    return (line: string) => (isChunk(line) ? ++seen : 0);
  };
  return [
    {
      name: 'a tampered chunk',
      code: Errors.PACKET_AUTH.code,
      hook:
        (nth = counter()) =>
        (line) => {
          if (nth(line) !== 3) return [line];
          const at = Math.floor(line.length / 2);
          return [line.slice(0, at) + (line[at] === 'A' ? 'B' : 'A') + line.slice(at + 1)];
        },
    },
    {
      name: 'a replayed chunk',
      code: Errors.PACKET_SEQUENCE.code,
      hook:
        (nth = counter()) =>
        (line) =>
          nth(line) === 3 ? [line, line] : [line],
    },
    {
      name: 'two chunks swapped',
      code: Errors.PACKET_SEQUENCE.code,
      hook:
        (nth = counter(), held: string | undefined = undefined) =>
        (line) => {
          const n = nth(line);
          if (n === 3) {
            held = line;
            return [];
          }
          if (n === 4 && held) return [line, held];
          return [line];
        },
    },
    {
      name: 'a dropped chunk',
      code: Errors.PACKET_SEQUENCE.code,
      hook:
        (nth = counter()) =>
        (line) =>
          nth(line) === 3 ? [] : [line],
    },
  ];
}

for (const c of chunkCases()) {
  test(`with the pool on both sides, ${c.name} closes the connection with ${c.code}`, async (t) => {
    const bag = makeBag(16);
    const captured = captureLog();
    let delivered = 0;
    const server = new CommlinkServer({
      bag,
      log: captured.log,
      chunkCrypto: makePool(t),
      handlers: {
        ingest: async (_body, ctx: RequestContext) => sha256OfStream(ctx.stream as Readable, (chunk) => void (delivered += chunk.length)),
        echo: (b) => b,
      },
    });
    const { port } = await server.listen(0);
    const rejected = new Promise<CodedError>((resolve) => server.once('rejected', (err: CodedError) => resolve(err)));
    const proxy = new LineProxy(port);
    proxy.hook = c.hook();
    const proxyPort = await proxy.listen();
    const client = makeClient({ bag, port: proxyPort, chunkCrypto: makePool(t), reconnectMinMs: 5000, reconnectMaxMs: 5000 });
    t.teardown(async () => {
      await client.close(0);
      await proxy.close();
      await server.close(100);
    });
    const chunk = 64 * 1024;
    const outcome = await client.request('ingest', {}, { stream: patternStream(16 * MiB, chunk), timeoutMs: 10_000 }).then(
      () => 'accepted',
      (err: CodedError) => err.code,
    );
    t.not(outcome, 'accepted');
    const reason = await rejected;
    t.is(reason.code, c.code, reason.message);
    t.true(delivered <= 2 * chunk, `only the chunks before the bad one were delivered (${delivered} bytes)`);
    t.is((await captured.waitFor((r) => r.msg === 'commlink connection rejected')).code, c.code);
    const direct = makeClient({ bag, port, chunkCrypto: makePool(t) });
    t.teardown(() => direct.close());
    t.deepEqual(await direct.request('echo', { still: 'serving' }), { still: 'serving' });
  });
}

test('a pool closed under a stream closes the connection; nothing hangs', async (t) => {
  const bag = makeBag();
  const flowing = deferred();
  const { server, port } = await startServer({
    bag,
    handlers: { ingest: async (_body, ctx: RequestContext) => sha256OfStream(ctx.stream as Readable, () => flowing.resolve()) },
  });
  const pool = new CryptoPool({ maxThreads: 1, minThreads: 0 });
  const client = makeClient({ bag, port, chunkCrypto: pool, reconnectMinMs: 5000, reconnectMaxMs: 5000 });
  t.teardown(async () => {
    await client.close(0);
    await server.close(100);
  });
  await client.connect();
  const pending = client.request('ingest', {}, { stream: patternStream(256 * MiB), timeoutMs: 20_000 });
  await within(flowing.promise, 10_000, 'sealed chunks to arrive'); // the stream runs through the pool now
  await pool.close();
  const err = await t.throwsAsync(pending);
  t.is((err as CodedError).code, Errors.CLOSED.code, err?.message);
});
