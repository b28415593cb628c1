import test from 'ava';
import { startInternalDb } from './helpers/internal-db.js';
import { FAST_HEARTBEAT, linkBag, makeDataDir, startService, tail } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';
import { recordChange, startReceiver, startWebHost } from './helpers/webhooks.js';

test('a web host killed mid-delivery: another takes the endpoint over when the lease expires; every change arrives, none is missed, duplicates carry the same id and body', async (t) => {
  const dataDir = await makeDataDir(t, 'ffs-hooks-');
  const bag = await linkBag(dataDir, 'internalDb');
  const db = await startInternalDb(t, { commlink: { bag } });
  const port = db.service.address!.port;
  // The first delivery is held open (never answered) until the web host delivering it is dead (an attempt
  // may last until its lease ends, 5 s here: the kill comes well before).
  let firstHeld = false;
  const receiver = await startReceiver(t, () => {
    if (!firstHeld) {
      firstHeld = true;
      return 'hold';
    }
    return 200;
  });
  const hook = await db.call('webhook.create', { ownerKind: 'admin', url: receiver.url, events: ['release.published', 'release.yanked'] });
  const expected: number[] = [];
  for (let i = 0; i < 5; i++) expected.push(recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: `1.${i}.0` }));

  const a = startService(t, 'web-a', 'web', {
    FFS_DATA_DIR: dataDir,
    FFS_LOG__LEVEL: 'info',
    FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: String(port),
    FFS_SERVICES__WEB__PORT: '0',
    FFS_SERVICES__WEB__COMMLINK_PORT: '0',
    FFS_SERVICES__WEB__OPS_PORT: '0',
    FFS_SERVICES__WEB__WEBHOOKS__ALLOW_HTTP: 'true',
    FFS_SERVICES__WEB__WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true',
    FFS_SERVICES__WEB__WEBHOOKS__LEASE_SECONDS: '5',
    FFS_SERVICES__WEB__WEBHOOKS__RETRY_MIN_MS: '50',
    FFS_SERVICES__WEB__WEBHOOKS__RETRY_MAX_MS: '200',
    ...FAST_HEARTBEAT,
  });
  await a.ready();
  await waitFor(
    () => receiver.received.length === 1,
    15_000,
    () => `web host A to deliver the first change\n${tail(a)}`,
  );
  t.is(receiver.received[0]!.id, String(expected[0]), 'the first change, held open');

  // Another web host runs meanwhile, and does not take the endpoint while A holds its lease.
  const b = await startWebHost(t, { port, bag }, { leaseSeconds: 5 });
  await new Promise((resolve) => setTimeout(resolve, 700));
  t.deepEqual(b.webhooks!.leased, [], 'B waits while A holds the lease');
  t.is(receiver.received.length, 1, 'nothing else is sent while the first is in flight (one in flight per endpoint)');

  a.signal('SIGKILL');
  await a.exited;
  const killedAt = Date.now();
  for (let i = 5; i < 10; i++)
    expected.push(recordChange(db, i % 2 ? 'release.yanked' : 'release.published', { vendor: 'acme', product: 'acme-db', version: `1.${i}.0` }));

  await waitFor(
    () => expected.every((seq) => receiver.received.some((r) => r.id === String(seq))),
    20_000,
    () => `every change delivered: ${JSON.stringify(receiver.received.map((r) => r.id))}`,
  );
  t.deepEqual(b.webhooks!.leased, [hook.id as number], 'B took the endpoint over');
  t.true(Date.now() - killedAt < 15_000);
  const got = receiver.received.map((r) => Number(r.id));
  t.deepEqual(
    [...new Set(got)].sort((x, y) => x - y),
    expected,
    'the ids received are exactly the changes: none missed, none made up',
  );
  for (let i = 1; i < got.length; i++) t.true(got[i]! >= got[i - 1]!, `in order: ${JSON.stringify(got)}`);
  for (const seq of expected) {
    const bodies = new Set(receiver.received.filter((r) => r.id === String(seq)).map((r) => r.body));
    t.is(bodies.size, 1, `every delivery of ${seq} has the same body`);
  }
  t.is(receiver.received.filter((r) => r.id === String(expected[0])).length, 2, 'the change in flight at the kill was delivered again (at least once)');
  await waitFor(async () => ((await db.call('webhook.get', { id: hook.id })).cursor as number) === expected.at(-1), 10_000, 'the cursor at the last change');
});
