import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import type { Change } from '../lib/contracts/internal-db/changes.js';
import type { CommlinkClient, KeyBag } from '../lib/commlink/index.js';
import { InternalDbService } from '../services/internal-db/service.js';
import { makeBag, makeClient } from './helpers/commlink.js';
import { internalDbOptions, seedCatalogue, startInternalDb } from './helpers/internal-db.js';

const adminScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'admin.js');
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

interface Batch {
  changes: Change[];
  head: number;
  reset: boolean;
}

type Call = (op: string, body?: Record<string, unknown>) => Promise<Record<string, unknown>>;

const next = (call: Call, after: number, waitMs = 0, limit = 1000) => call('changes.next', { after, waitMs, limit }) as unknown as Promise<Batch>;

/**
 * An internal-db on a database file that outlives it: `start()` starts it (again) with the
 * test's movable clock, `call` asks the one running now.
 */
async function restartable(t: ExecutionContext, options: { changeLogDays?: number; expiringNoticeHours?: number } = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-db-changes-'));
  const bag: KeyBag = makeBag();
  const clock = { now: Date.now() };
  let service: InternalDbService | undefined;
  let client: CommlinkClient | undefined;
  const stop = async () => {
    await client?.close(0);
    await service?.close(0);
    client = undefined;
    service = undefined;
  };
  const start = async () => {
    await stop();
    service = await InternalDbService.start({ ...internalDbOptions(dir, bag), clock: () => clock.now, ...options });
    client = makeClient({ bag, port: service.address!.port, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
    return service;
  };
  t.teardown(async () => {
    await stop();
    await rm(dir, { recursive: true, force: true });
  });
  const call: Call = (op, body = {}) => client!.request(op, body as never) as Promise<Record<string, unknown>>;
  await start();
  return { dir, clock, start, stop, call, dbPath: join(dir, 'db', 'fulfillment.sqlite'), service: () => service! };
}

test.serial('changes.next: resumes after a sequence, pages, waits, and is woken by a change in under a second', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const all = await next(call, 0);
  t.false(all.reset);
  t.is(all.changes.length, all.head);
  t.deepEqual(
    all.changes.map((c) => c.seq),
    Array.from({ length: all.head }, (_, i) => i + 1),
    'every sequence, in order, none missing',
  );
  const page = await next(call, 3, 0, 2);
  t.deepEqual(
    page.changes.map((c) => c.seq),
    [4, 5],
  );
  t.deepEqual(await next(call, all.head), { changes: [], head: all.head, reset: false }, 'nothing new, no wait');

  // A subscriber waits at the head; a change wakes it at once.
  const waiting = next(call, all.head, 20_000);
  await new Promise((r) => setTimeout(r, 200));
  const changedAt = performance.now();
  await call('vendor.create', { name: 'Initech' });
  const woken = await waiting;
  const latency = performance.now() - changedAt;
  t.deepEqual(
    woken.changes.map((c) => [c.seq, c.kind, c.vendor]),
    [[all.head + 1, 'vendor.created', 'Initech']],
  );
  t.true(latency < 1000, `woken ${latency.toFixed(0)} ms after the change`);
  t.log(`change → subscriber: ${latency.toFixed(1)} ms`);

  // A wait with nothing happening ends after waitMs with nothing.
  const started = performance.now();
  t.deepEqual(await next(call, woken.head, 300), { changes: [], head: woken.head, reset: false });
  t.true(performance.now() - started >= 250);
});

test.serial('changes.next is woken by a change the admin CLI writes into the same file from another process, and records the admin', async (t) => {
  const { call, service } = await startInternalDb(t);
  const { head } = await next(call, 0);
  const waiting = next(call, head, 20_000);
  const env = { ...process.env, FFS_DATA_DIR: dirname(dirname(service.db.name)) };
  const exitedAt = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, [adminScript, 'vendor', 'create', '--name', 'Hooli', '--db', service.db.name], { env, stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(performance.now()) : reject(new Error(`admin exited ${code}`))));
  });
  const woken = await waiting;
  const latency = performance.now() - exitedAt;
  t.is(woken.changes.length, 1);
  t.like(woken.changes[0], { seq: head + 1, kind: 'vendor.created', vendor: 'Hooli', actor: { kind: 'admin', address: 'cli' } });
  t.truthy(woken.changes[0]!.actor.id, 'the OS user');
  t.true(latency < 1000, `woken ${latency.toFixed(0)} ms after the CLI exited`);
});

test('a restart keeps the sequence (new > old), and a subscriber resumes from its last seq without loss', async (t) => {
  const db = await restartable(t);
  await seedCatalogue(db.call);
  const before = await next(db.call, 0);
  const seen = before.head;
  // Changes the subscriber has not seen yet, then a restart.
  await db.call('customer.setDisabled', { login: 'globex', disabled: true });
  await db.start();
  await db.call('customer.setDisabled', { login: 'globex', disabled: false });
  const resumed = await next(db.call, seen);
  t.false(resumed.reset);
  t.deepEqual(
    resumed.changes.map((c) => [c.seq, c.kind]),
    [
      [seen + 1, 'customer.disabled'],
      [seen + 2, 'customer.enabled'],
    ],
  );
  t.is(resumed.head, seen + 2);
  // A subscriber waiting when the service closes gets an answer, not a hang; it asks again later.
  const waiting = next(db.call, resumed.head, 20_000).catch((err: Error) => err);
  await new Promise((r) => setTimeout(r, 100));
  await db.start();
  const answer = await waiting;
  t.true(answer instanceof Error || answer.changes.length === 0, 'an empty answer or a lost link');
  await db.call('vendor.create', { name: 'Initech' });
  t.deepEqual(
    (await next(db.call, resumed.head)).changes.map((c) => [c.seq, c.kind]),
    [[seen + 3, 'vendor.created']],
  );
});

test('reset: after the changes a subscriber missed were pruned (retention), and for a sequence beyond the head', async (t) => {
  const db = await restartable(t, { changeLogDays: 30 });
  await seedCatalogue(db.call);
  const old = await next(db.call, 0);
  db.clock.now += 20 * DAY;
  await db.call('vendor.create', { name: 'Initech' });
  const { head } = await next(db.call, 0);
  t.deepEqual(await next(db.call, head + 5), { changes: [], head, reset: true }, 'beyond the head (a database restored from an older backup)');

  // 31 days after the first changes: a restart prunes them (it prunes at start, then hourly).
  db.clock.now += 11 * DAY;
  await db.start();
  const kept = ((await db.call('changes.list', {})) as { changes: Change[] }).changes;
  t.deepEqual(
    kept.map((c) => [c.seq, c.kind]),
    [[head, 'vendor.created']],
    'only the change within 30 days is kept',
  );
  t.deepEqual(await next(db.call, 0), { changes: [], head, reset: true }, 'from 0: the oldest changes are gone');
  t.deepEqual(await next(db.call, 2), { changes: [], head, reset: true }, 'a subscriber whose last seq was pruned');
  t.deepEqual(await next(db.call, old.head), { changes: kept, head, reset: false }, 'one that saw everything pruned misses nothing');
  t.is(db.service().pruneChanges(), 0, 'pruning again removes nothing');

  // The newest change is kept whatever its age, so the head stays known.
  db.clock.now += 100 * DAY;
  await db.start();
  t.deepEqual(await next(db.call, head), { changes: [], head, reset: false });
  await db.call('vendor.create', { name: 'Hooli' });
  t.is((await next(db.call, head)).changes[0]?.seq, head + 1, 'the sequence goes on after pruning');
});

test('time-based changes: starting, expiring and expired, each once when its time comes, also across a restart; none for a revoked entitlement', async (t) => {
  const db = await restartable(t, { expiringNoticeHours: 24 });
  await seedCatalogue(db.call);
  const t0 = db.clock.now;
  const at = (ms: number) => new Date(ms).toISOString();
  const { id } = (await db.call('entitlement.grant', {
    customer: 'globex',
    product: 'acme-db',
    range: '*',
    startsAt: at(t0 + HOUR),
    expiresAt: at(t0 + 10 * DAY),
  })) as { id: number };
  const { id: revokedId } = (await db.call('entitlement.grant', {
    customer: 'globex',
    product: 'acme-db',
    range: '*',
    startsAt: at(t0 + HOUR),
    expiresAt: at(t0 + 2 * DAY),
  })) as { id: number };
  await db.call('entitlement.revoke', { id: revokedId });
  // Granted already started and expiring within the notice: expiring is due at once.
  const { id: soonId } = (await db.call('entitlement.grant', { customer: 'globex', product: 'acme-db', range: '*', expiresAt: at(t0 + 12 * HOUR) })) as {
    id: number;
  };
  let seen = (await next(db.call, 0)).head - 4; // the three grants and the revoke
  const timeBased = async (waitMs = 3000) => {
    const out: [string, number][] = [];
    const deadline = performance.now() + waitMs;
    for (;;) {
      const batch = await next(db.call, seen, Math.max(0, Math.round(deadline - performance.now())));
      for (const c of batch.changes)
        if (c.kind.startsWith('entitlement.') && c.kind !== 'entitlement.granted' && c.kind !== 'entitlement.revoked') out.push([c.kind, c.entitlementId!]);
      seen = batch.head;
      if (batch.changes.length === 0) return out;
    }
  };
  t.deepEqual(await timeBased(), [['entitlement.expiring', soonId]], 'a grant within the notice: expiring at once');

  db.clock.now = t0 + HOUR; // the start: within a second
  const started = performance.now();
  const starting = await next(db.call, seen, 5000);
  t.log(`entitlement.starting recorded ${(performance.now() - started).toFixed(0)} ms after its time (the clock looks at least every second)`);
  t.like(starting.changes[0], {
    kind: 'entitlement.starting',
    entitlementId: id,
    customer: 'globex',
    vendor: 'Acme Software',
    product: 'acme-db',
    actor: { kind: 'system' },
  });
  seen = starting.head;
  t.deepEqual(await timeBased(1500), [], 'once only; nothing for the revoked one');

  db.clock.now = t0 + 9 * DAY + HOUR; // within the notice of the first; past the expiry of the third
  t.deepEqual(await timeBased(), [
    ['entitlement.expiring', id],
    ['entitlement.expired', soonId],
  ]);

  // Down while the expiry comes: recorded at the next start, once.
  await db.stop();
  db.clock.now = t0 + 11 * DAY;
  await db.start();
  t.deepEqual(await timeBased(), [['entitlement.expired', id]]);
  await db.start();
  db.clock.now = t0 + 400 * DAY;
  t.deepEqual(await timeBased(1500), [], 'a restart records nothing twice');
  const kinds = (await next(db.call, 0)).changes.filter((c) => c.entitlementId === revokedId).map((c) => c.kind);
  t.deepEqual(kinds, ['entitlement.granted', 'entitlement.revoked'], 'nothing time-based for the revoked one');
});

test('the change clock wakes at a due time a grant brings, not only on its second: entitlement.starting is never recorded early', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const startsAt = Date.now() + 400;
  const { id } = (await call('entitlement.grant', { customer: 'globex', product: 'acme-db', range: '*', startsAt: new Date(startsAt).toISOString() })) as {
    id: number;
  };
  let seen = (await next(call, 0)).head;
  let starting: Change | undefined;
  while (!starting) {
    const batch = await next(call, seen, 5000);
    t.true(batch.changes.length > 0, 'recorded within the wait');
    if (batch.changes.length === 0) return;
    starting = batch.changes.find((c) => c.kind === 'entitlement.starting');
    seen = batch.head;
  }
  t.is(starting.entitlementId, id);
  t.true(Date.parse(starting.at) >= startsAt, 'at or after its time');
  t.log(`recorded ${Date.parse(starting.at) - startsAt} ms after its time`);
});

test('an expiring notice due before its entitlement starts waits for the start, and the clock does not spin meanwhile', async (t) => {
  const db = await restartable(t, { expiringNoticeHours: 168 });
  await seedCatalogue(db.call);
  const t0 = db.clock.now;
  const at = (ms: number) => new Date(ms).toISOString();
  const { id } = (await db.call('entitlement.grant', {
    customer: 'globex',
    product: 'acme-db',
    range: '*',
    startsAt: at(t0 + DAY),
    expiresAt: at(t0 + 3 * DAY),
  })) as { id: number };
  const clock = db.service().changeClock;
  const tick = clock.tick.bind(clock);
  let looks = 0;
  clock.tick = () => {
    looks++;
    return tick();
  };
  const { head } = await next(db.call, 0);
  t.deepEqual(await next(db.call, head, 1500), { changes: [], head, reset: false }, 'nothing before the start');
  t.true(looks <= 4, `${looks} looks in 1.5 s`);
  db.clock.now = t0 + DAY;
  const batch = await next(db.call, head, 5000);
  const more = batch.changes.length < 2 ? (await next(db.call, batch.head, 3000)).changes : [];
  t.deepEqual(
    [...batch.changes, ...more].map((c) => [c.kind, c.entitlementId]),
    [
      ['entitlement.starting', id],
      ['entitlement.expiring', id],
    ],
  );
});
