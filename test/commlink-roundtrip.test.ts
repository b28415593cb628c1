import test from 'ava';
import { Errors, type Body } from '../lib/commlink/index.js';
import { SUITE_NAMES } from '../lib/commlink/suites/index.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';

for (const suite of SUITE_NAMES) {
  test(`round trip of every value type over ${suite}`, async (t) => {
    const bag = makeBag();
    const { server, port } = await startServer({
      bag,
      acceptSuites: [suite],
      handlers: { echo: (body: Body) => ({ got: body }), 'math.add': (body: Body) => ({ sum: (body.a as number) + (body.b as number) }) },
    });
    const client = makeClient({ bag, port, suite });
    t.teardown(async () => {
      await client.close();
      await server.close();
    });
    const body: Body = {
      text: 'acme <corp> & "friends" \u00e9\u4e2d\ud83d\ude80\n\t\u0000',
      empty: '',
      n: -12.5,
      yes: true,
      none: null,
      bytes: Buffer.from([0, 1, 2, 255]),
      list: ['a', 1, [false], { deep: { deeper: ['x'] } }],
      obj: { a: '1', b: [] },
    };
    const reply = await client.request('echo', body);
    t.deepEqual(reply.got, body);
    t.deepEqual(await client.request('math.add', { a: 2, b: 40 }), { sum: 42 });
    t.is(client.peer?.suite, suite);
  });
}

test('a server that does not accept the offered suite refuses the connection at hello', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, acceptSuites: ['aes-256-gcm'], handlers: { ping: () => ({}) } });
  const rejected = new Promise<unknown[]>((resolve) => server.once('rejected', (...args: unknown[]) => resolve(args)));
  const client = makeClient({ bag, port, suite: 'des-ede3-cbc-hmac-sha256' });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const err = await t.throwsAsync(client.request('ping', {}, { timeoutMs: 300 }));
  t.is(err?.name, 'CodedError');
  const [reason] = await rejected;
  t.is((reason as { code: string }).code, Errors.HANDSHAKE.code);
  t.regex((reason as Error).message, /not accepted/);
});

test('the key index agrees at both ends over many connections', async (t) => {
  const bag = makeBag(7);
  const { server, port } = await startServer({ bag, handlers: { 'key.index': (_b, ctx) => ({ index: ctx.peer.keyIndex, port: ctx.peer.remotePort }) } });
  t.teardown(() => server.close());
  const seen = new Set<number>();
  for (let i = 0; i < 60; i++) {
    const client = makeClient({ bag, port });
    const peer = await client.connect(2000);
    const reply = await client.request('key.index');
    t.is(reply.port, peer.localPort, 'the server sees the client port the client bound');
    t.is(reply.index, peer.localPort % 7, 'server index = client port mod N');
    t.is(peer.keyIndex, reply.index as number, 'client and server chose the same key');
    seen.add(peer.keyIndex);
    await client.close();
  }
  t.is(seen.size, 7, 'every key of the bag was exercised');
});
