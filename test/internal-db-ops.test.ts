import test from 'ava';
import { seedCatalogue, startInternalDb } from './helpers/internal-db.js';
import type { CodedError } from '../lib/errors/index.js';
import { MIGRATIONS } from '../services/internal-db/db/migrations.js';

const codeOf = async (p: Promise<unknown>) => {
  try {
    await p;
    return 'no error';
  } catch (err) {
    return (err as CodedError).code;
  }
};

test('catalogue: vendor, product, release, artifact, publish, yank', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const { releases } = (await call('release.list', { product: 'acme-db' })) as { releases: { version: string; status: string; artifacts: unknown[] }[] };
  t.deepEqual(
    releases.map((r) => [r.version, r.status, r.artifacts.length]),
    [
      ['1.0.0', 'published', 1],
      ['1.5.0', 'published', 1],
      ['2.0.0', 'published', 1],
    ],
  );
  t.like(await call('release.yank', { product: 'acme-db', version: '1.5.0' }), { status: 'yanked' });
  t.is(await codeOf(call('release.yank', { product: 'acme-db', version: '1.5.0' })), 'ERR_STATE');
  await call('release.create', { product: 'acme-db', version: '3.0.0-beta.1', channel: 'beta' });
  t.is(await codeOf(call('release.publish', { product: 'acme-db', version: '3.0.0-beta.1' })), 'ERR_STATE', 'no artifacts');
  t.is(
    await codeOf(
      call('artifact.add', { product: 'acme-db', version: '2.0.0', filename: 'late.zip', size: 1, sha256: 'b'.repeat(64), objectId: 'b'.repeat(64) }),
    ),
    'ERR_STATE',
    'published releases are immutable',
  );
  t.is(await codeOf(call('vendor.create', { name: 'Acme Software' })), 'ERR_CONFLICT');
  t.is(await codeOf(call('product.create', { vendor: 'Nobody', code: 'x', name: 'X' })), 'ERR_NOT_FOUND');
  t.is(await codeOf(call('release.create', { product: 'acme-db', version: 'v2' })), 'ERR_INVALID_INPUT');
  t.is(await codeOf(call('release.create', { product: 'acme-db', version: '2.0.0' })), 'ERR_CONFLICT');
  const { vendors } = (await call('vendor.list')) as { vendors: { name: string }[] };
  t.deepEqual(
    vendors.map((v) => v.name),
    ['Acme Software'],
  );
  const { products } = (await call('product.list', { vendor: 'Acme Software' })) as { products: { code: string }[] };
  t.deepEqual(
    products.map((p) => p.code),
    ['acme-db'],
  );
});

test('auth.check: password and SSH key logins, refusals that say nothing of why', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  await call('entitlement.grant', { customer: 'globex', product: 'acme-db', range: '^1.0.0' });
  const ok = (await call('auth.check', { login: 'globex', password: 'correct horse battery', protocol: 'sftp', clientAddress: '203.0.113.7' })) as {
    customer: { login: string };
    entitlements: { product: string; status: string }[];
    releases: { product: string; version: string }[];
  };
  t.is(ok.customer.login, 'globex');
  t.deepEqual(
    ok.entitlements.map((e) => [e.product, e.status]),
    [['acme-db', 'active']],
  );
  t.deepEqual(ok.releases, [
    { product: 'acme-db', version: '1.5.0' },
    { product: 'acme-db', version: '1.0.0' },
  ]);
  for (const [login, password] of [
    ['globex', 'wrong password'],
    ['nobody', 'correct horse battery'],
  ]) {
    const err = (await t.throwsAsync(call('auth.check', { login, password, protocol: 'ftp', clientAddress: '203.0.113.7' }))) as CodedError;
    t.is(err.code, 'ERR_AUTH_REFUSED');
    t.is(err.message, 'login refused');
  }
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl globex@laptop';
  const added = (await call('sshkey.add', { login: 'globex', publicKey: key })) as { fingerprint: string };
  t.regex(added.fingerprint, /^SHA256:/);
  const blob = key.split(' ')[1];
  t.like(await call('auth.check', { login: 'globex', publicKey: { algorithm: 'ssh-ed25519', key: blob }, protocol: 'sftp', clientAddress: '::1' }), {
    customer: { login: 'globex' },
  });
  t.is(
    await codeOf(
      call('auth.check', {
        login: 'globex',
        publicKey: { algorithm: 'ssh-ed25519', key: blob!.replace('AAAAI', 'AAAAJ') },
        protocol: 'sftp',
        clientAddress: '::1',
      }),
    ),
    'ERR_AUTH_REFUSED',
  );
  await call('customer.setDisabled', { login: 'globex', disabled: true });
  t.is(
    await codeOf(call('auth.check', { login: 'globex', password: 'correct horse battery', protocol: 'ftp', clientAddress: '::1' })),
    'ERR_AUTH_REFUSED',
    'disabled, even with a cached password',
  );
  t.is(await codeOf(call('auth.check', { login: 'globex', protocol: 'ftp', clientAddress: '::1' })), 'ERR_INVALID_INPUT');
});

test('auth.keyCheck: whether a key is registered for an enabled customer, and nothing else', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl globex@laptop';
  const blob = key.split(' ')[1]!;
  const probe = (login: string, k = blob) =>
    call('auth.keyCheck', { login, publicKey: { algorithm: 'ssh-ed25519', key: k }, protocol: 'sftp', clientAddress: '::1' });
  t.deepEqual(await probe('globex'), { registered: false }, 'not registered yet');
  await call('sshkey.add', { login: 'globex', publicKey: key });
  t.deepEqual(await probe('globex'), { registered: true });
  t.deepEqual(await probe('globex', blob.replace('AAAAI', 'AAAAJ')), { registered: false }, 'another key');
  t.deepEqual(await probe('nobody'), { registered: false }, 'an unknown login: no error that tells it apart');
  await call('customer.setDisabled', { login: 'globex', disabled: true });
  t.deepEqual(await probe('globex'), { registered: false }, 'a disabled customer');
});

test('a changed password takes effect at once, despite the verified-password cache', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const check = (password: string) => call('auth.check', { login: 'globex', password, protocol: 'ftp', clientAddress: '::1' });
  await check('correct horse battery');
  await check('correct horse battery'); // cached
  await call('customer.setPassword', { login: 'globex', password: 'a new passphrase' });
  t.is(await codeOf(check('correct horse battery')), 'ERR_AUTH_REFUSED');
  t.like(await check('a new passphrase'), { customer: { login: 'globex' } });
});

test('API tokens: created once, checked, revoked', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const created = (await call('token.create', { kind: 'customer', owner: 'globex', label: 'ci' })) as { id: number; token: string };
  t.regex(created.token, /^ffs_[A-Za-z0-9_-]{43}$/);
  t.like(await call('token.check', { token: created.token }), { kind: 'customer', customer: 'globex' });
  const vendorToken = (await call('token.create', { kind: 'vendor', owner: 'Acme Software' })) as { token: string };
  t.like(await call('token.check', { token: vendorToken.token }), { kind: 'vendor', vendor: 'Acme Software' });
  const { tokens } = (await call('token.list')) as { tokens: Record<string, unknown>[] };
  t.false(JSON.stringify(tokens).includes(created.token), 'tokens are never listed');
  await call('token.revoke', { id: created.id });
  t.is(await codeOf(call('token.check', { token: created.token })), 'ERR_AUTH_REFUSED');
  t.is(await codeOf(call('token.create', { kind: 'admin', owner: 'globex' })), 'ERR_INVALID_INPUT');
});

test('EULA acceptance is recorded and shown by release.resolve', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const eula = (await call('eula.create', { title: 'Acme EULA', body: 'You may use it.' })) as { id: number };
  await call('product.setEula', { product: 'acme-db', eula: eula.id });
  await call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const before = (await call('release.resolve', { customer: 'globex' })) as { artifacts: { eulaId: number; eulaAccepted: boolean }[] };
  t.true(before.artifacts.every((a) => a.eulaId === eula.id && a.eulaAccepted === false));
  await call('eula.accept', { customer: 'globex', eula: eula.id });
  const after = (await call('release.resolve', { customer: 'globex' })) as { artifacts: { eulaAccepted: boolean }[] };
  t.true(after.artifacts.every((a) => a.eulaAccepted));
  t.like(await call('eula.get', { id: eula.id }), { title: 'Acme EULA', body: 'You may use it.' });
});

test('stagings and audit: recorded, idempotent, queried', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  await call('staging.record', { customer: 'globex', product: 'acme-db', version: '2.0.0', host: 'file-1' });
  t.deepEqual(
    ((await call('staging.list', { customer: 'globex' })) as { stagings: { version: string }[] }).stagings.map((s) => s.version),
    ['2.0.0'],
  );
  const event = (n: number, outcome: string) => ({
    eventId: `file-1:${n.toString().padStart(8, '0')}`,
    customer: 'globex',
    path: 'acme-db/2.0.0/acme-db-2.0.0-linux-x64.tar.gz',
    protocol: n % 2 ? 'sftp' : 'http',
    clientAddress: '203.0.113.7',
    bytes: 1000,
    durationMs: 12,
    outcome,
    at: new Date(Date.UTC(2026, 10, 1, 0, 0, n)).toISOString(),
  });
  const batch = [event(1, 'complete'), event(2, 'aborted'), event(3, 'complete')];
  t.deepEqual(await call('audit.record', { events: batch }), { recorded: 3, received: 3 });
  t.deepEqual(await call('audit.record', { events: batch }), { recorded: 0, received: 3 }, 'a retried batch is not counted twice');
  const all = (await call('audit.query', { customer: 'globex' })) as { events: { eventId: string }[] };
  t.deepEqual(
    all.events.map((e) => e.eventId),
    ['file-1:00000003', 'file-1:00000002', 'file-1:00000001'],
  );
  const sftp = (await call('audit.query', { protocol: 'sftp', outcome: 'complete' })) as { events: unknown[] };
  t.is(sftp.events.length, 2);
  const since = (await call('audit.query', { since: '2026-11-01T00:00:02Z', limit: 1 })) as { events: { eventId: string }[] };
  t.deepEqual(
    since.events.map((e) => e.eventId),
    ['file-1:00000003'],
  );
  t.is(await codeOf(call('audit.record', { events: [event(4, 'complete'), { ...event(5, 'complete'), customer: 'nobody' }] })), 'ERR_NOT_FOUND');
  t.is(((await call('audit.query', {})) as { events: unknown[] }).events.length, 3, 'a batch with one bad event records nothing');
  // The compact form file hosts send: groups of transfers sharing customer, path, protocol, address.
  const compact = {
    groups: [
      {
        customer: 'globex',
        artifactId: null,
        path: '/acme-db/1.0.0/a.tgz',
        protocol: 'http',
        clientAddress: '192.0.2.9',
        idPrefix: 'host-aaaa',
        events: '1 1000 12 c 1798761600000\n2 400 3 a 1798761601000',
      },
      {
        customer: 'globex',
        path: '/acme-db/2.0.0/b.tgz',
        protocol: 'http',
        clientAddress: '192.0.2.9',
        idPrefix: 'host-aaaa',
        events: '3 77 1 c 1798761602000',
      },
    ],
  };
  t.deepEqual(await call('audit.recordCompact', compact), { recorded: 3, received: 3 });
  t.deepEqual(await call('audit.recordCompact', compact), { recorded: 0, received: 3 }, 'a retried batch is not counted twice');
  const http = (await call('audit.query', { protocol: 'http' })) as { events: Record<string, unknown>[] };
  t.like(
    http.events.find((e) => e.eventId === 'host-aaaa:2'),
    { customer: 'globex', path: '/acme-db/1.0.0/a.tgz', bytes: 400, durationMs: 3, outcome: 'aborted', at: '2027-01-01T00:00:01.000Z' },
  );
  t.is(http.events.filter((e) => String(e.eventId).startsWith('host-aaaa:')).length, 3);
});

test('online backup on demand is a consistent, openable copy', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const result = (await call('admin.backup', { name: 'manual.sqlite' })) as { path: string; pages: number };
  t.true(result.pages > 0);
  const Database = (await import('better-sqlite3')).default;
  const copy = new Database(result.path, { readonly: true });
  t.is((copy.prepare('SELECT count(*) AS n FROM releases').get() as { n: number }).n, 3);
  copy.close();
  t.like(await call('db.info'), { schemaVersion: MIGRATIONS.at(-1)!.version, customers: 1, releases: 3 });
});

test('a release published by another connection (the admin CLI) is granted at once (catalogue cache invalidation)', async (t) => {
  const { call, service } = await startInternalDb(t);
  await seedCatalogue(call);
  await call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const versions = async () =>
    ((await call('release.resolve', { customer: 'globex' })) as { artifacts: { version: string }[] }).artifacts.map((a) => a.version);
  t.deepEqual(await versions(), ['2.0.0', '1.5.0', '1.0.0']);
  const { openDatabase } = await import('../services/internal-db/db/open.js');
  const { Store } = await import('../services/internal-db/store/index.js');
  const other = openDatabase(service.db.name);
  const store = new Store(other);
  store.catalogue.createRelease('acme-db', '2.1.0', 'stable');
  store.catalogue.addArtifact('acme-db', '2.1.0', {
    filename: 'acme-db-2.1.0.zip',
    size: 1,
    sha256: 'e'.repeat(64),
    platform: 'any',
    arch: 'any',
    objectId: 'e'.repeat(64),
  });
  store.catalogue.publish('acme-db', '2.1.0');
  t.deepEqual(await versions(), ['2.1.0', '2.0.0', '1.5.0', '1.0.0']);
  store.catalogue.yank('acme-db', '2.0.0');
  other.close();
  t.deepEqual(await versions(), ['2.1.0', '1.5.0', '1.0.0']);
  await call('release.yank', { product: 'acme-db', version: '2.1.0' });
  t.deepEqual(await versions(), ['1.5.0', '1.0.0'], 'and by this connection');
});

test('customer records, key removal, entitlement revocation, EULA and staging listings', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const key = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl globex@laptop';
  const { fingerprint } = (await call('sshkey.add', { login: 'globex', publicKey: key })) as { fingerprint: string };
  t.like(await call('customer.get', { login: 'globex' }), {
    login: 'globex',
    hasPassword: true,
    disabled: false,
    sshKeys: [{ fingerprint, comment: 'globex@laptop' }],
  });
  await call('customer.create', { login: 'keyonly', name: 'Key Only' });
  const { customers } = (await call('customer.list')) as { customers: { login: string; hasPassword: boolean; sshKeys: number }[] };
  t.deepEqual(
    customers.map((c) => [c.login, c.hasPassword, c.sshKeys]),
    [
      ['globex', true, 1],
      ['keyonly', false, 0],
    ],
  );
  await call('sshkey.remove', { login: 'globex', fingerprint });
  t.like(await call('customer.get', { login: 'globex' }), { sshKeys: [] });
  const { id } = (await call('entitlement.grant', {
    customer: 'globex',
    product: 'acme-db',
    range: '^1.0.0',
    expiresAt: '2099-01-01T00:00:00Z',
    onExpiry: 'revoke',
  })) as { id: number };
  t.like(((await call('entitlements.list', { customer: 'globex' })) as { entitlements: unknown[] }).entitlements[0], {
    id,
    status: 'active',
    range: '^1.0.0',
    onExpiry: 'revoke',
  });
  await call('entitlement.revoke', { id });
  t.like(((await call('entitlements.list', { customer: 'globex' })) as { entitlements: unknown[] }).entitlements[0], { id, status: 'revoked' });
  t.deepEqual(((await call('release.resolve', { customer: 'globex' })) as { artifacts: unknown[] }).artifacts, []);
  await call('eula.create', { title: 'One', body: 'text' });
  t.deepEqual(
    ((await call('eula.list')) as { eulas: { title: string }[] }).eulas.map((e) => e.title),
    ['One'],
  );
  await call('staging.record', { customer: 'globex', product: 'acme-db', version: '1.0.0', host: 'file-1' });
  await call('staging.remove', { customer: 'globex', product: 'acme-db', version: '1.0.0', host: 'file-1' });
  t.deepEqual(((await call('staging.list', { customer: 'globex' })) as { stagings: unknown[] }).stagings, []);
});
