import { once } from 'node:events';
import { Readable } from 'node:stream';
import test from 'ava';
import { Errors, type Peer, type RequestContext } from '../lib/commlink/index.js';
import { SUITE_NAMES } from '../lib/commlink/suites/index.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import { patternStream, sha256OfStream } from './helpers/pattern-stream.js';
import { SLOW_RECEIVER_WINDOW, streamToSlowReceiver } from './helpers/slow-receiver.js';
import type { CodedError } from '../lib/errors/index.js';
import { deferred, within } from './helpers/wait.js';

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
  let receiverFailed!: (err: CodedError) => void;
  const receiverError = new Promise<CodedError>((resolve) => (receiverFailed = resolve));
  const { server, port } = await startServer({
    bag,
    handlers: {
      ingest: async (_b, ctx) => {
        try {
          await sha256OfStream(ctx.stream as Readable);
        } catch (err) {
          receiverFailed(err as CodedError);
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
  t.is((await within(receiverError, 5000, 'the abort to cross the link')).code, Errors.STREAM_ABORTED.code);
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
  const source = patternStream(1024 * MiB, 64 * 1024, (n) => (produced += n));
  const sourceClosed = once(source, 'close');
  const reply = await client.request('peek', {}, { stream: source });
  t.deepEqual(reply, { first: true });
  await within(sourceClosed, 5000, 'the sender to stop reading its source'); // read no more once closed
  t.true(produced < 8 * MiB, `the sender stopped early (${produced} bytes produced)`);
  t.deepEqual(await client.request('echo', { still: 'alive' }), { still: 'alive' });
});

test('a connection lost while a handler ignores its stream does not crash the server (regression)', async (t) => {
  const bag = makeBag();
  const handlerStarted = deferred();
  const release = deferred();
  const handlerDone = deferred();
  const { server, port } = await startServer({
    bag,
    handlers: {
      // Holds its stream unread until the connection is gone, then replies on the closed connection.
      ignore: async () => {
        handlerStarted.resolve();
        await release.promise;
        setImmediate(handlerDone.resolve); // after the server has taken the reply
        return {};
      },
      echo: (b) => b,
    },
  });
  t.teardown(() => server.close(0));
  const serverSide = once(server, 'peer') as Promise<[Peer]>;
  const client = makeClient({ bag, port, reconnectMinMs: 10_000, reconnectMaxMs: 10_000 });
  t.teardown(() => client.close(0));
  const peer = await client.connect();
  const [accepted] = await serverSide;
  const pending = client.request('ignore', {}, { stream: patternStream(64 * MiB) });
  await within(handlerStarted.promise, 5000, 'the handler to be called');
  const lost = once(accepted, 'close');
  peer.destroy();
  const err = (await t.throwsAsync(pending)) as CodedError;
  t.is(err.code, Errors.CLOSED.code);
  await within(lost, 5000, 'the server to see the connection go');
  release.resolve(); // the handler finishes on a closed connection; its stream failed unread
  await handlerDone.promise;
  const second = makeClient({ bag, port });
  t.deepEqual(await second.request('echo', { ok: true }), { ok: true });
  await second.close();
});
