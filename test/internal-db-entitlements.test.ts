import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { openDatabase } from '../services/internal-db/db/open.js';
import { Store } from '../services/internal-db/store/index.js';

const DAY = 86_400_000;
const T0 = Date.UTC(2026, 0, 1);

/** A real database file with a movable clock: publish at chosen times, check at chosen times. */
async function fixture(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-ent-'));
  const db = openDatabase(join(dir, 'e.sqlite'));
  let now = T0;
  const store = new Store(db, { clock: () => now });
  t.teardown(async () => {
    db.close();
    await rm(dir, { recursive: true, force: true });
  });
  store.catalogue.createVendor('Acme');
  store.catalogue.createProduct('Acme', 'tool', 'Tool', null);
  const customer = store.customers.create('initech', 'Initech', null, null).id;
  const publish = (version: string, at: number, channel = 'stable') => {
    now = at;
    store.catalogue.createRelease('tool', version, channel);
    store.catalogue.addArtifact('tool', version, {
      filename: `tool-${version}.zip`,
      size: 1,
      sha256: 'c'.repeat(64),
      platform: 'any',
      arch: 'any',
      objectId: 'c'.repeat(64),
    });
    store.catalogue.publish('tool', version);
  };
  const versionsAt = (at: number) => {
    now = at;
    return store.entitlements.resolve(customer).map((a) => a.version);
  };
  return { store, customer, publish, versionsAt, setNow: (at: number) => (now = at) };
}

test('expiry rule "keep": after expiry the releases published before it stay, later ones never come', async (t) => {
  const f = await fixture(t);
  f.publish('1.0.0', T0);
  f.setNow(T0);
  f.store.entitlements.grant(f.customer, 'tool', '*', T0, T0 + 30 * DAY, 'keep');
  f.publish('1.1.0', T0 + 10 * DAY);
  t.deepEqual(f.versionsAt(T0 + 20 * DAY), ['1.1.0', '1.0.0']);
  f.publish('1.2.0', T0 + 40 * DAY); // after expiry
  t.deepEqual(f.versionsAt(T0 + 50 * DAY), ['1.1.0', '1.0.0'], 'kept after expiry; 1.2.0 is not granted');
  t.is(f.store.entitlements.list(f.customer)[0]?.status, 'expired-keep');
});

test('expiry rule "revoke": after expiry nothing is granted', async (t) => {
  const f = await fixture(t);
  f.publish('1.0.0', T0);
  f.setNow(T0);
  f.store.entitlements.grant(f.customer, 'tool', '*', T0, T0 + 30 * DAY, 'revoke');
  t.deepEqual(f.versionsAt(T0 + 29 * DAY), ['1.0.0']);
  t.deepEqual(f.versionsAt(T0 + 30 * DAY), [], 'expiry is exclusive: at the instant it ends, nothing');
  t.is(f.store.entitlements.list(f.customer)[0]?.status, 'expired');
});

test('a revoked entitlement grants nothing, whatever its expiry rule; a pending one not yet', async (t) => {
  const f = await fixture(t);
  f.publish('1.0.0', T0);
  f.setNow(T0);
  const { id } = f.store.entitlements.grant(f.customer, 'tool', '*', T0, null, 'keep');
  t.deepEqual(f.versionsAt(T0 + DAY), ['1.0.0']);
  f.store.entitlements.revoke(id);
  t.deepEqual(f.versionsAt(T0 + DAY), []);
  t.is(f.store.entitlements.list(f.customer)[0]?.status, 'revoked');
  f.store.entitlements.grant(f.customer, 'tool', '*', T0 + 10 * DAY, null, 'keep');
  t.deepEqual(f.versionsAt(T0 + 5 * DAY), [], 'not started yet');
  t.deepEqual(f.versionsAt(T0 + 10 * DAY), ['1.0.0']);
});

test('semver ranges select releases; prereleases only when the range asks; yanked never', async (t) => {
  const f = await fixture(t);
  for (const [i, v] of ['1.0.0', '1.4.2', '2.0.0', '2.1.0', '3.0.0-beta.1', '3.0.0'].entries())
    f.publish(v, T0 + i * DAY, v.includes('beta') ? 'beta' : 'stable');
  const cases: [string, string[]][] = [
    ['^1.0.0', ['1.4.2', '1.0.0']],
    ['~2.0.0', ['2.0.0']],
    ['>=1.4.0 <2.1.0', ['2.0.0', '1.4.2']],
    ['2.x', ['2.1.0', '2.0.0']],
    ['1.0.0 || 3.0.0', ['3.0.0', '1.0.0']],
    ['>=3.0.0-beta.0', ['3.0.0', '3.0.0-beta.1']],
    ['*', ['3.0.0', '3.0.0-beta.1', '2.1.0', '2.0.0', '1.4.2', '1.0.0']],
  ];
  const ids: number[] = [];
  for (const [range, expected] of cases) {
    for (const id of ids.splice(0)) f.store.entitlements.revoke(id);
    f.setNow(T0);
    ids.push(f.store.entitlements.grant(f.customer, 'tool', range, T0, null, 'keep').id);
    t.deepEqual(f.versionsAt(T0 + 100 * DAY), expected, range);
  }
  f.store.catalogue.yank('tool', '3.0.0');
  t.deepEqual(f.versionsAt(T0 + 100 * DAY), ['3.0.0-beta.1', '2.1.0', '2.0.0', '1.4.2', '1.0.0'], 'yanked 3.0.0 is gone');
  f.setNow(T0 + 100 * DAY);
  t.deepEqual(
    f.store.entitlements.resolve(f.customer, { channel: 'beta' }).map((a) => a.version),
    ['3.0.0-beta.1'],
    'channel filter',
  );
  t.throws(() => f.store.entitlements.grant(f.customer, 'tool', 'not a range', null, null, 'keep'), { message: /not a semver range/ });
});

test('two entitlements covering the same release list it once', async (t) => {
  const f = await fixture(t);
  f.publish('1.0.0', T0);
  f.setNow(T0);
  f.store.entitlements.grant(f.customer, 'tool', '*', T0, null, 'keep');
  f.store.entitlements.grant(f.customer, 'tool', '^1.0.0', T0, null, 'revoke');
  t.deepEqual(f.versionsAt(T0 + DAY), ['1.0.0']);
});
