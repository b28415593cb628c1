import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CommlinkServer, type Peer } from '../lib/commlink/index.js';
import { formatKeyBag, generateKeys, writeKeyBagFile } from '../lib/commlink/keybag-file.js';
import { KeyBag } from '../lib/commlink/keybag.js';
import { silentLogger } from '../lib/log/logger.js';
import { openDatabase } from '../services/internal-db/db/open.js';
import { makeClient } from './helpers/commlink.js';
import { seedCatalogue, startInternalDb } from './helpers/internal-db.js';
import { endpointPort, startService, tail } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';
import { MIGRATIONS } from '../services/internal-db/db/migrations.js';

test('50 concurrent clients calling auth.check each get their own, correct answer', async (t) => {
  const { call, bag, service } = await startInternalDb(t);
  await seedCatalogue(call);
  await call('customer.create', { login: 'initech', name: 'Initech', password: 'another good one' });
  await call('entitlement.grant', { customer: 'globex', product: 'acme-db', range: '^2.0.0' });
  const clients = Array.from({ length: 50 }, () => makeClient({ bag, port: service.address!.port }));
  t.teardown(() => Promise.all(clients.map((c) => c.close(0))));
  const outcomes = await Promise.all(
    clients.map(async (client, i) => {
      const results: string[] = [];
      for (let n = 0; n < 10; n++) {
        const who = (i + n) % 3;
        const body =
          who === 0
            ? { login: 'globex', password: 'correct horse battery' }
            : who === 1
              ? { login: 'initech', password: 'another good one' }
              : { login: 'globex', password: 'not the password' };
        try {
          const reply = (await client.request('auth.check', { ...body, protocol: 'ftp', clientAddress: `198.51.100.${i}` })) as {
            customer: { login: string };
            releases: { version: string }[];
          };
          results.push(`${who}:${reply.customer.login}:${reply.releases.map((r) => r.version).join(',')}`);
        } catch (err) {
          results.push(`${who}:${(err as { code: string }).code}`);
        }
      }
      return results;
    }),
  );
  const expected: Record<string, string> = { '0': '0:globex:2.0.0', '1': '1:initech:', '2': '2:ERR_AUTH_REFUSED' };
  for (const result of outcomes.flat()) t.is(result, expected[result[0] as string]);
  t.is(outcomes.flat().length, 500);
});

test('dial mode: the internal-db connects out to the web host and serves over that connection', async (t) => {
  const bag = new KeyBag(generateKeys(8));
  const web = new CommlinkServer({ bag, log: silentLogger });
  const { port } = await web.listen(0);
  t.teardown(() => web.close(0));
  const peer = new Promise<Peer>((resolve) => web.once('peer', resolve));
  const { service } = await startInternalDb(t, {
    mode: 'dial',
    dialHost: '127.0.0.1',
    dialPort: port,
    commlink: { bag, reconnectMinMs: 20, reconnectMaxMs: 200 },
  });
  t.is(service.address, undefined, 'nothing listens on the internal host');
  const link = await peer;
  t.like(await link.request('vendor.create', { name: 'Acme' }), { name: 'Acme' });
  t.like(await link.request('db.info'), { schemaVersion: MIGRATIONS.at(-1)!.version });
  // The web host restarts: the internal-db dials again.
  await web.close(0);
  const web2 = new CommlinkServer({ bag, log: silentLogger });
  const peer2 = new Promise<Peer>((resolve) => web2.once('peer', resolve));
  await web2.listen(port, '127.0.0.1');
  t.teardown(() => web2.close(0));
  const { vendors } = (await (await peer2).request('vendor.list')) as { vendors: { name: string }[] };
  t.deepEqual(
    vendors.map((v) => v.name),
    ['Acme'],
  );
});

test('kill -9 during a burst of writes loses no acknowledged write', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-kill-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const keys = generateKeys(16);
  await writeKeyBagFile(join(dir, 'secrets', 'keybag-internal-db'), keys);
  t.truthy(formatKeyBag(keys));
  const service = startService(t, 'internal-db', 'internal-db', { FFS_DATA_DIR: dir, FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0', FFS_LOG__LEVEL: 'info' });
  const port = endpointPort(await service.ready(), 'commlinkPort');
  const client = makeClient({ bag: new KeyBag(keys), port, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  t.teardown(() => client.close(0));
  const acknowledged: string[] = [];
  let sent = 0;
  // Writes in flight all the time (pipelined), until the process dies under them.
  const writer = async () => {
    for (;;) {
      const name = `vendor-${sent++}`;
      try {
        await client.request('vendor.create', { name }, { timeoutMs: 5000 });
        acknowledged.push(name);
      } catch {
        return;
      }
    }
  };
  const writers = Array.from({ length: 16 }, writer);
  await waitFor(
    () => acknowledged.length >= 400,
    60_000,
    () => `400 acknowledged writes (have ${acknowledged.length})\n${tail(service)}`,
  );
  service.child.kill('SIGKILL');
  await service.exited;
  t.is(service.child.signalCode, 'SIGKILL');
  await Promise.all(writers);
  const db = openDatabase(join(dir, 'internal-db', 'fulfillment.sqlite'));
  const stored = new Set((db.prepare('SELECT name FROM vendors').all() as { name: string }[]).map((r) => r.name));
  db.close();
  const lost = acknowledged.filter((name) => !stored.has(name));
  t.deepEqual(lost, [], `${acknowledged.length} acknowledged, ${stored.size} stored`);
  t.true(acknowledged.length >= 400);
});
