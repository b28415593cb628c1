import { once } from 'node:events';
import test from 'ava';
import type { Body, Peer } from '../lib/commlink/index.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import { silentLogger } from '../lib/log/logger.js';

test('reverse dial: the side that connects serves, the side that listens asks', async (t) => {
  const bag = makeBag();
  // The listening side (a web host) serves nothing and waits for the internal host to dial in.
  const { server, port } = await startServer({ bag });
  const dialledIn = once(server, 'peer') as Promise<[Peer]>;
  // The dialling side (an internal host behind a firewall with no inbound hole) serves requests.
  const inside = makeClient({
    bag,
    port,
    handlers: { 'auth.check': (body: Body) => ({ user: body.user, ok: body.user === 'acme' }) },
  });
  t.teardown(async () => {
    await inside.close(0);
    await server.close(0);
  });
  await inside.connect();
  const [peer] = await dialledIn;
  t.deepEqual(await peer.request('auth.check', { user: 'acme' }), { user: 'acme', ok: true });
  t.deepEqual(await peer.request('auth.check', { user: 'mallory' }), { user: 'mallory', ok: false });
  const replies = await Promise.all(Array.from({ length: 500 }, (_, i) => peer.request('auth.check', { user: `u${i}` })));
  t.true(replies.every((r, i) => r.user === `u${i}`));
});

test('reverse dial survives a restart of the listening side: the dialler comes back', async (t) => {
  const bag = makeBag();
  const first = await startServer({ bag });
  const inside = makeClient({ bag, port: first.port, handlers: { 'db.ping': () => ({ pong: true }) } });
  t.teardown(() => inside.close(0));
  await inside.connect();
  await first.server.close(0);
  const { CommlinkServer } = await import('../lib/commlink/index.js');
  const second = new CommlinkServer({ bag, log: silentLogger });
  const peer = new Promise<Peer>((resolve) => second.once('peer', resolve));
  await second.listen(first.port, '127.0.0.1');
  t.teardown(() => second.close(0));
  t.deepEqual(await (await peer).request('db.ping'), { pong: true });
});
