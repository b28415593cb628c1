import { setTimeout as delay } from 'node:timers/promises';
import { Readable } from 'node:stream';
import test from 'ava';
import { Errors, type RequestContext } from '../lib/commlink/index.js';
import { SUITE_NAMES } from '../lib/commlink/suites/index.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import { patternStream, sha256OfStream } from './helpers/pattern-stream.js';
import { SLOW_RECEIVER_WINDOW, streamToSlowReceiver } from './helpers/slow-receiver.js';
import type { CodedError } from '../lib/errors/index.js';

const MiB = 1024 * 1024;

test('a 256 MiB bulk stream arrives byte-identical, with bounded memory', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({
    bag,
    handlers: {
      ingest: async (_body, ctx: RequestContext) => sha256OfStream(ctx.stream as Readable),
    },
  });
  const client = makeClient({ bag, port });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  await client.connect();
  const total = 256 * MiB;
  const expected = await sha256OfStream(patternStream(total));
  global.gc?.();
  const base = process.memoryUsage();
  let peakRss = base.rss;
  let peakExternal = base.external + base.arrayBuffers;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakRss = Math.max(peakRss, m.rss);
    peakExternal = Math.max(peakExternal, m.external + m.arrayBuffers);
  }, 20);
  const reply = await client.request('ingest', { name: 'big.bin' }, { stream: patternStream(total), timeoutMs: 120_000 });
  clearInterval(sampler);
  t.is(reply.bytes, total);
  t.is(reply.hash, expected.hash);
  const growth = (peakRss - base.rss) / MiB;
  t.log(`rss growth ${growth.toFixed(1)} MiB, external+arrayBuffers peak growth ${((peakExternal - base.external - base.arrayBuffers) / MiB).toFixed(1)} MiB`);
  t.true(growth < 128, `memory stayed bounded (rss grew ${growth.toFixed(1)} MiB for a 256 MiB stream)`);
});

test('a slow receiver holds the sender to one window: the source is read only as fast as it is consumed', async (t) => {
  const { total, bytes, maxAhead } = await streamToSlowReceiver(t);
  t.is(bytes, total);
  // In flight at most: the window, plus what stream buffers hold on each side (one high-water mark each).
  t.true(maxAhead <= SLOW_RECEIVER_WINDOW * 2 + 64 * 1024, `sender ran ${maxAhead} bytes ahead of the reader`);
});

for (const suite of SUITE_NAMES) {
  test(`bulk round trip over ${suite}`, async (t) => {
    const bag = makeBag();
    const { server, port } = await startServer({ bag, acceptSuites: [suite], handlers: { ingest: (_b, ctx) => sha256OfStream(ctx.stream as Readable) } });
    const client = makeClient({ bag, port, suite });
    t.teardown(async () => {
      await client.close();
      await server.close();
    });
    const total = 5 * MiB + 3;
    const expected = await sha256OfStream(patternStream(total, 7777));
    t.deepEqual(await client.request('ingest', {}, { stream: patternStream(total, 7777) }), expected);
  });
}

test('a failing source aborts the stream: the request and the receiver both see ERR_STREAM_ABORTED', async (t) => {
  const bag = makeBag();
  let receiverError: CodedError | undefined;
  const { server, port } = await startServer({
    bag,
    handlers: {
      ingest: async (_b, ctx) => {
        try {
          await sha256OfStream(ctx.stream as Readable);
        } catch (err) {
          receiverError = err as CodedError;
          throw err;
        }
        return {};
      },
    },
  });
  const client = makeClient({ bag, port });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  let n = 0;
  const source = new Readable({
    read() {
      if (n++ < 10) this.push(Buffer.alloc(64 * 1024, n));
      else this.destroy(new Error('disk read error'));
    },
  });
  const err = (await t.throwsAsync(client.request('ingest', {}, { stream: source }))) as CodedError;
  t.is(err.code, Errors.STREAM_ABORTED.code);
  for (let waited = 0; !receiverError && waited < 5000; waited += 10) await delay(10); // the abort crosses the link
  t.is(receiverError?.code, Errors.STREAM_ABORTED.code);
  t.true(client.connected, 'the connection survives an aborted stream');
});

test('a handler that replies before reading the whole stream stops the sender', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({
    bag,
    streamWindowBytes: 128 * 1024,
    handlers: {
      peek: async (_b, ctx) => {
        const first = await new Promise<Buffer>((resolve) => (ctx.stream as Readable).once('data', resolve));
        return { first: first.length > 0 };
      },
      echo: (b) => b,
    },
  });
  const client = makeClient({ bag, port });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  let produced = 0;
  const reply = await client.request('peek', {}, { stream: patternStream(1024 * MiB, 64 * 1024, (n) => (produced += n)) });
  t.deepEqual(reply, { first: true });
  await delay(100);
  t.true(produced < 8 * MiB, `the sender stopped early (${produced} bytes produced)`);
  t.deepEqual(await client.request('echo', { still: 'alive' }), { still: 'alive' });
});

test('a connection lost while a handler ignores its stream does not crash the server (regression)', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({
    bag,
    handlers: { ignore: () => delay(300).then(() => ({})), echo: (b) => b },
  });
  t.teardown(() => server.close(0));
  const client = makeClient({ bag, port, reconnectMinMs: 10_000, reconnectMaxMs: 10_000 });
  t.teardown(() => client.close(0));
  const peer = await client.connect();
  const pending = client.request('ignore', {}, { stream: patternStream(64 * MiB) });
  await delay(50);
  peer.destroy();
  const err = (await t.throwsAsync(pending)) as CodedError;
  t.is(err.code, Errors.CLOSED.code);
  await delay(400); // the handler finishes on a closed connection; its stream failed unread
  const second = makeClient({ bag, port });
  t.deepEqual(await second.request('echo', { ok: true }), { ok: true });
  await second.close();
});
