import test from 'ava';
import type { Change } from '../lib/contracts/internal-db/changes.js';
import type { CodedError } from '../lib/errors/index.js';
import { seedCatalogue, startInternalDb, type DbFixture } from './helpers/internal-db.js';

const ADMIN = { kind: 'admin', id: 'alice', address: 'cli' } as const;
const TOKEN = { kind: 'token', id: '7', address: '203.0.113.7' } as const;
const CUSTOMER = { kind: 'customer', id: 'globex', address: '198.51.100.2' } as const;
const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl globex@laptop';
const ARTIFACT = { size: 10, sha256: 'c'.repeat(64), objectId: 'c'.repeat(64) };

/** The changes after `after` (one page is enough here), with the sequence and time left out. */
async function changesAfter(call: DbFixture['call'], after: number): Promise<Omit<Change, 'seq' | 'at'>[]> {
  const { changes } = (await call('changes.next', { after, limit: 1000 })) as { changes: Change[] };
  return changes.map(({ seq: _seq, at: _at, ...rest }) => rest);
}

async function head(call: DbFixture['call']): Promise<number> {
  return ((await call('changes.next', { after: 0, limit: 1 })) as { head: number }).head;
}

/** Runs `step` and returns the changes it recorded. */
async function recorded(call: DbFixture['call'], step: () => Promise<unknown>): Promise<Omit<Change, 'seq' | 'at'>[]> {
  const before = await head(call);
  await step();
  return changesAfter(call, before);
}

test('every mutating operation records its change with its subject and who made it, only when the fact changes', async (t) => {
  const { call } = await startInternalDb(t);
  const rec = (op: string, body: Record<string, unknown>) => recorded(call, () => call(op, body));

  t.deepEqual(await rec('vendor.create', { name: 'Acme', by: ADMIN }), [{ kind: 'vendor.created', vendor: 'Acme', actor: ADMIN }]);
  t.deepEqual(await rec('vendor.setDisabled', { name: 'Acme', disabled: true, by: ADMIN }), [{ kind: 'vendor.disabled', vendor: 'Acme', actor: ADMIN }]);
  t.deepEqual(await rec('vendor.setDisabled', { name: 'Acme', disabled: true, by: ADMIN }), [], 'disabling a disabled vendor');
  t.deepEqual(await rec('vendor.setDisabled', { name: 'Acme', disabled: false }), [{ kind: 'vendor.enabled', vendor: 'Acme', actor: { kind: 'system' } }]);
  const { id: eulaId } = (await call('eula.create', { title: 'T', body: 'B' })) as { id: number };
  t.deepEqual(await rec('eula.create', { title: 'T2', body: 'B2', by: ADMIN }), [{ kind: 'eula.created', eulaId: eulaId + 1, actor: ADMIN }]);
  t.deepEqual(await rec('product.create', { vendor: 'Acme', code: 'tool', name: 'Tool', by: TOKEN }), [
    { kind: 'product.created', vendor: 'Acme', product: 'tool', actor: TOKEN },
  ]);
  t.deepEqual(await rec('product.create', { vendor: 'Acme', code: 'gated', name: 'Gated', eula: eulaId, by: TOKEN }), [
    { kind: 'product.created', vendor: 'Acme', product: 'gated', actor: TOKEN },
    { kind: 'eula.set', vendor: 'Acme', product: 'gated', eulaId, actor: TOKEN },
  ]);
  t.deepEqual(await rec('product.setEula', { product: 'tool', eula: eulaId, by: TOKEN }), [
    { kind: 'eula.set', vendor: 'Acme', product: 'tool', eulaId, actor: TOKEN },
  ]);
  t.deepEqual(await rec('product.setEula', { product: 'tool', eula: eulaId, by: TOKEN }), [], 'the EULA it has');
  t.deepEqual(await rec('product.setEula', { product: 'tool', eula: null, by: TOKEN }), [{ kind: 'eula.set', vendor: 'Acme', product: 'tool', actor: TOKEN }]);
  t.deepEqual(await rec('release.create', { product: 'tool', version: '1.0.0', by: TOKEN }), [
    { kind: 'release.created', vendor: 'Acme', product: 'tool', version: '1.0.0', actor: TOKEN },
  ]);
  t.deepEqual(await rec('artifact.add', { product: 'tool', version: '1.0.0', filename: 'tool.tgz', ...ARTIFACT, by: TOKEN }), [
    { kind: 'artifact.added', vendor: 'Acme', product: 'tool', version: '1.0.0', filename: 'tool.tgz', actor: TOKEN },
  ]);
  t.deepEqual(await rec('release.publish', { product: 'tool', version: '1.0.0', by: TOKEN }), [
    { kind: 'release.published', vendor: 'Acme', product: 'tool', version: '1.0.0', actor: TOKEN },
  ]);
  t.deepEqual(await rec('release.yank', { product: 'tool', version: '1.0.0', by: ADMIN }), [
    { kind: 'release.yanked', vendor: 'Acme', product: 'tool', version: '1.0.0', actor: ADMIN },
  ]);

  t.deepEqual(await rec('customer.create', { login: 'globex', name: 'Globex', by: ADMIN }), [{ kind: 'customer.created', customer: 'globex', actor: ADMIN }]);
  t.deepEqual(await rec('customer.setPassword', { login: 'globex', password: null, by: ADMIN }), [], 'removing a password it has not');
  t.deepEqual(await rec('customer.setPassword', { login: 'globex', password: 'correct horse battery', by: CUSTOMER }), [
    { kind: 'customer.password_changed', customer: 'globex', actor: CUSTOMER },
  ]);
  const sid = 'a'.repeat(22);
  const expiresAt = new Date(Date.now() + 3_600_000).toISOString();
  t.deepEqual(await rec('session.end', { login: 'globex', sid, expiresAt, by: CUSTOMER }), [
    { kind: 'customer.signed_out', customer: 'globex', actor: CUSTOMER },
  ]);
  t.deepEqual(await rec('session.end', { login: 'globex', sid, expiresAt, by: CUSTOMER }), [], 'signing out a signed-out session');
  t.deepEqual(await rec('customer.setDisabled', { login: 'globex', disabled: true, by: ADMIN }), [
    { kind: 'customer.disabled', customer: 'globex', actor: ADMIN },
  ]);
  t.deepEqual(await rec('customer.setDisabled', { login: 'globex', disabled: true, by: ADMIN }), [], 'disabling a disabled customer');
  t.deepEqual(await rec('customer.setDisabled', { login: 'globex', disabled: false, by: ADMIN }), [
    { kind: 'customer.enabled', customer: 'globex', actor: ADMIN },
  ]);
  const added = await rec('sshkey.add', { login: 'globex', publicKey: KEY, by: CUSTOMER });
  const fingerprint = added[0]?.fingerprint;
  t.regex(fingerprint ?? '', /^SHA256:/);
  t.deepEqual(added, [{ kind: 'sshkey.added', customer: 'globex', fingerprint, actor: CUSTOMER }]);
  t.deepEqual(await rec('sshkey.remove', { login: 'globex', fingerprint, by: CUSTOMER }), [
    { kind: 'sshkey.removed', customer: 'globex', fingerprint, actor: CUSTOMER },
  ]);

  const tokenCreated = async (body: Record<string, unknown>) => {
    const before = await head(call);
    const { id } = (await call('token.create', { ...body, by: ADMIN })) as { id: number };
    return { id, changes: await changesAfter(call, before) };
  };
  const customerToken = await tokenCreated({ kind: 'customer', owner: 'globex' });
  t.deepEqual(customerToken.changes, [{ kind: 'token.created', tokenId: customerToken.id, customer: 'globex', actor: ADMIN }]);
  const vendorToken = await tokenCreated({ kind: 'vendor', owner: 'Acme' });
  t.deepEqual(vendorToken.changes, [{ kind: 'token.created', tokenId: vendorToken.id, vendor: 'Acme', actor: ADMIN }]);
  const adminToken = await tokenCreated({ kind: 'admin' });
  t.deepEqual(adminToken.changes, [{ kind: 'token.created', tokenId: adminToken.id, actor: ADMIN }]);
  t.deepEqual(await rec('token.revoke', { id: vendorToken.id, by: TOKEN }), [{ kind: 'token.revoked', tokenId: vendorToken.id, vendor: 'Acme', actor: TOKEN }]);
  t.deepEqual(await rec('token.revoke', { id: customerToken.id, by: TOKEN }), [
    { kind: 'token.revoked', tokenId: customerToken.id, customer: 'globex', actor: TOKEN },
  ]);

  const granted = await recorded(call, () => call('entitlement.grant', { customer: 'globex', product: 'tool', range: '*', by: TOKEN }));
  const entitlementId = granted[0]?.entitlementId;
  t.deepEqual(granted, [{ kind: 'entitlement.granted', customer: 'globex', vendor: 'Acme', product: 'tool', entitlementId, actor: TOKEN }]);
  t.deepEqual(await rec('entitlement.revoke', { id: entitlementId, by: ADMIN }), [
    { kind: 'entitlement.revoked', customer: 'globex', vendor: 'Acme', product: 'tool', entitlementId, actor: ADMIN },
  ]);
  t.deepEqual(await rec('eula.accept', { customer: 'globex', eula: eulaId, by: CUSTOMER }), [
    { kind: 'eula.accepted', customer: 'globex', eulaId, actor: CUSTOMER },
  ]);
  t.deepEqual(await rec('eula.accept', { customer: 'globex', eula: eulaId, by: CUSTOMER }), [], 'accepting again');

  // What changes nothing records nothing: reads, stagings (a host's bookkeeping), refusals.
  t.deepEqual(await rec('customer.get', { login: 'globex' }), []);
  t.deepEqual(await recorded(call, () => t.throwsAsync(call('release.yank', { product: 'tool', version: '1.0.0', by: ADMIN }))), [], 'a refused operation');
});

test('a failing operation records nothing: the change and its log row land together or not at all', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  await call('release.create', { product: 'acme-db', version: '9.0.0' });
  const before = await head(call);
  const refusals: [string, Record<string, unknown>, string][] = [
    ['entitlement.grant', { customer: 'globex', product: 'nope', range: '*' }, 'ERR_NOT_FOUND'],
    ['entitlement.grant', { customer: 'globex', product: 'acme-db', range: 'not a range' }, 'ERR_INVALID_INPUT'],
    ['release.yank', { product: 'acme-db', version: '9.0.0' }, 'ERR_STATE'],
    ['release.publish', { product: 'acme-db', version: '9.0.0' }, 'ERR_STATE'],
    ['token.revoke', { id: 999 }, 'ERR_NOT_FOUND'],
    ['customer.create', { login: 'globex', name: 'Again' }, 'ERR_CONFLICT'],
    ['token.create', { kind: 'customer', owner: 'nobody' }, 'ERR_NOT_FOUND'],
    ['entitlement.revoke', { id: 999 }, 'ERR_NOT_FOUND'],
  ];
  for (const [op, body, code] of refusals) {
    const err = (await t.throwsAsync(call(op, body))) as CodedError;
    t.is(err.code, code, op);
  }
  t.is(await head(call), before);
  t.deepEqual(await changesAfter(call, before), []);
});

test('audit: one download.completed per new complete transfer of a known artifact, by the system; none for aborted ones or a retried batch', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const before = await head(call);
  const event = (n: number, outcome: string, path: string, protocol = 'ftp') => ({
    eventId: `file-1:${n.toString().padStart(8, '0')}`,
    customer: 'globex',
    path,
    protocol,
    clientAddress: '203.0.113.7',
    bytes: 1000 + n,
    durationMs: 12,
    outcome,
    at: new Date(Date.UTC(2026, 10, 1, 0, 0, n)).toISOString(),
  });
  const batch = [
    event(1, 'complete', '/acme-db/2.0.0/acme-db-2.0.0-linux-x64.tar.gz'),
    event(2, 'aborted', '/acme-db/2.0.0/acme-db-2.0.0-linux-x64.tar.gz'),
    event(3, 'complete', '/acme-db/2.0.0/no-such-file'),
    event(4, 'complete', '/acme-db/1.0.0/acme-db-1.0.0-linux-x64.tar.gz', 'sftp'),
  ];
  t.deepEqual(await call('audit.record', { events: batch }), { recorded: 4, received: 4 });
  const download = (version: string, protocol: string, bytes: number) => ({
    kind: 'download.completed',
    customer: 'globex',
    vendor: 'Acme Software',
    product: 'acme-db',
    version,
    filename: `acme-db-${version}-linux-x64.tar.gz`,
    protocol,
    bytes,
    actor: { kind: 'system' },
  });
  t.deepEqual(await changesAfter(call, before), [download('2.0.0', 'ftp', 1001), download('1.0.0', 'sftp', 1004)]);
  const afterFirst = await head(call);
  t.deepEqual(await call('audit.record', { events: batch }), { recorded: 0, received: 4 });
  t.deepEqual(await changesAfter(call, afterFirst), [], 'a retried batch records no second download.completed');

  // The compact form: by artifact id (HTTP) or by path; retried, nothing new.
  await call('entitlement.grant', { customer: 'globex', product: 'acme-db', range: '*' });
  const resolved = (await call('release.resolve', { customer: 'globex', product: 'acme-db', version: '1.5.0' })) as { artifacts: { artifactId: number }[] };
  const artifactId = resolved.artifacts[0]!.artifactId;
  const compact = {
    groups: [
      {
        customer: 'globex',
        artifactId,
        path: '/whatever',
        protocol: 'http',
        clientAddress: '192.0.2.9',
        idPrefix: 'host-aaaa',
        events: '1 1000 12 c 1798761600000\n2 400 3 a 1798761601000\n3 1000 9 c 1798761602000',
      },
    ],
  };
  const beforeCompact = await head(call);
  t.deepEqual(await call('audit.recordCompact', compact), { recorded: 3, received: 3 });
  t.deepEqual(await changesAfter(call, beforeCompact), [download('1.5.0', 'http', 1000), download('1.5.0', 'http', 1000)]);
  const afterCompact = await head(call);
  t.deepEqual(await call('audit.recordCompact', compact), { recorded: 0, received: 3 });
  t.deepEqual(await changesAfter(call, afterCompact), []);
});
