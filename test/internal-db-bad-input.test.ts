import { createHash } from 'node:crypto';
import test from 'ava';
import { INTERNAL_DB_OPERATIONS } from '../lib/contracts/internal-db/index.js';
import { OPERATIONS } from '../services/internal-db/ops/index.js';
import { seedCatalogue, startInternalDb } from './helpers/internal-db.js';
import type { CodedError } from '../lib/errors/index.js';

const TABLES = [
  'vendors',
  'eulas',
  'products',
  'releases',
  'artifacts',
  'customers',
  'ssh_keys',
  'api_tokens',
  'entitlements',
  'eula_acceptances',
  'stagings',
  'download_events',
  'changes',
];

/** Bad bodies per operation, beyond the unknown field every operation is sent. Each must be refused. */
const BAD: Record<string, Record<string, unknown>[]> = {
  'auth.check': [
    { login: 'globex', password: 'x', protocol: 'gopher', clientAddress: '1.2.3.4' },
    { login: 'globex', protocol: 'ftp', clientAddress: '1.2.3.4' },
    { login: 'Globex!', password: 'x', protocol: 'ftp', clientAddress: 'a' },
  ],
  'auth.keyCheck': [
    { login: 'globex', protocol: 'sftp', clientAddress: '1.2.3.4' },
    { login: 'globex', password: 'x', publicKey: { algorithm: 'ssh-ed25519', key: 'AAAA' }, protocol: 'sftp', clientAddress: '1.2.3.4' },
    { login: 'globex', publicKey: { algorithm: 'ssh-ed25519', key: 'A'.repeat(16385) }, protocol: 'sftp', clientAddress: '1.2.3.4' },
  ],
  'token.check': [{ token: 42 }, {}],
  'vendor.create': [{ name: '' }, { name: 'a\u0000b' }, { name: 'Acme Software' }],
  'vendor.list': [{ limit: 0 }, { limit: 501 }, { cursor: 'not a cursor!' }, { cursor: Buffer.from('[1]').toString('base64url') }],
  'vendor.setDisabled': [
    { name: 'Nobody', disabled: true },
    { name: 'Acme Software', disabled: 'yes' },
    { name: 'Acme\u202Eerawtfos', disabled: true },
    { name: 'Acme Software', disabled: true, by: { kind: 'root' } },
    { name: 'Acme Software', disabled: true, by: { kind: 'admin', id: '' } },
    { name: 'Acme Software', disabled: true, by: { kind: 'token', id: '1', address: 'a'.repeat(65) } },
    { name: 'Acme Software', disabled: true, by: { kind: 'admin', extra: 1 } },
  ],
  'product.create': [
    { vendor: 'Acme Software', code: 'Bad Code', name: 'X' },
    { vendor: 'Nobody', code: 'x', name: 'X' },
    { vendor: 'Acme Software', code: 'acme-db', name: 'dup' },
    { vendor: 'Acme Software', code: 'y', name: 'Y', eula: 999 },
  ],
  'product.list': [{ vendor: 7 }],
  'product.setEula': [
    { product: 'acme-db', eula: 999 },
    { product: 'nope', eula: null },
  ],
  'release.create': [
    { product: 'acme-db', version: '1.0' },
    { product: 'acme-db', version: '2.0.0' },
    { product: 'acme-db', version: '9.0.0', channel: 'Not A Channel' },
  ],
  'release.list': [{ product: 'nope' }],
  'artifact.add': [
    { product: 'acme-db', version: '2.0.0', filename: '../../etc/passwd', size: 1, sha256: 'a'.repeat(64), objectId: 'a'.repeat(64) },
    { product: 'acme-db', version: '2.0.0', filename: 'x', size: -1, sha256: 'a'.repeat(64), objectId: 'a'.repeat(64) },
    { product: 'acme-db', version: '2.0.0', filename: 'x', size: 1, sha256: 'XYZ', objectId: 'a'.repeat(64) },
    { product: 'acme-db', version: '2.0.0', filename: 'x', size: 1, sha256: 'a'.repeat(64), objectId: 'a'.repeat(64) },
  ],
  'release.publish': [
    { product: 'acme-db', version: '2.0.0' },
    { product: 'acme-db', version: '7.7.7' },
  ],
  'release.yank': [{ product: 'acme-db', version: '7.7.7' }, { product: 'acme-db' }],
  'customer.create': [
    { login: 'globex', name: 'Again', password: 'long enough' },
    { login: 'x', name: 'Short login' },
    { login: 'newco', name: 'N', password: 'short' },
    { login: 'newco', name: 'N', email: 'not-an-email' },
  ],
  'customer.get': [{ login: 'nobody' }],
  'customer.list': [],
  'customer.setPassword': [
    { login: 'nobody', password: 'long enough' },
    { login: 'globex', password: 'short' },
  ],
  'customer.setDisabled': [
    { login: 'globex', disabled: 'yes' },
    { login: 'nobody', disabled: true },
  ],
  'session.check': [
    { login: 'nobody', sid: 'a'.repeat(22), startedAt: '2026-01-01T00:00:00Z' },
    { login: 'globex', sid: 'short', startedAt: '2026-01-01T00:00:00Z' },
    { login: 'globex', sid: 'a'.repeat(22), startedAt: 'yesterday' },
  ],
  'session.end': [
    { login: 'nobody', sid: 'a'.repeat(22), expiresAt: '2099-01-01T00:00:00Z' },
    { login: 'globex', sid: 'a'.repeat(22) },
  ],
  'sshkey.add': [
    { login: 'globex', publicKey: 'ssh-dss AAAAB3NzaC1kc3MAAACBAP' },
    { login: 'globex', publicKey: 'ssh-ed25519 notbase64!!' },
    { login: 'globex', publicKey: 'ssh-ed25519 AAAAB3NzaC1yc2EAAAADAQAB' },
  ],
  'sshkey.remove': [
    { login: 'globex', fingerprint: 'MD5:aa' },
    { login: 'globex', fingerprint: `SHA256:${'A'.repeat(43)}` },
  ],
  'token.create': [{ kind: 'root' }, { kind: 'customer' }, { kind: 'customer', owner: 'nobody' }, { kind: 'admin', owner: 'globex' }],
  'token.revoke': [{ id: 0 }, { id: 999 }, { id: 'one' }],
  'token.list': [],
  'entitlement.grant': [
    { customer: 'globex', product: 'acme-db', range: 'not a range' },
    { customer: 'globex', product: 'nope' },
    { customer: 'nobody', product: 'acme-db' },
    { customer: 'globex', product: 'acme-db', startsAt: '2026-02-01T00:00:00Z', expiresAt: '2026-01-01T00:00:00Z' },
    { customer: 'globex', product: 'acme-db', expiresAt: 'tomorrow' },
    { customer: 'globex', product: 'acme-db', onExpiry: 'forever' },
  ],
  'entitlement.revoke': [{ id: 999 }, { id: -1 }],
  'entitlements.list': [{ customer: 'nobody' }],
  'release.resolve': [{ customer: 'nobody' }, { customer: 'globex', product: 'Bad Code' }],
  'eula.create': [{ title: 'T' }, { title: '', body: 'x' }],
  'eula.get': [{ id: 999 }],
  'eula.list': [],
  'eula.accept': [
    { customer: 'globex', eula: 999 },
    { customer: 'nobody', eula: 1 },
  ],
  'staging.record': [
    { customer: 'globex', product: 'acme-db', version: '7.7.7', host: 'f1' },
    { customer: 'globex', product: 'acme-db', version: '2.0.0' },
  ],
  'staging.remove': [{ customer: 'globex', product: 'acme-db', version: '2.0.0', host: 'never-staged' }],
  'staging.list': [{ customer: 'nobody' }],
  'staging.customers': [{ product: 'Bad Code' }, { product: 'acme-db', limit: 1000 }],
  'audit.record': [
    { events: [] },
    {
      events: [
        {
          eventId: 'short',
          customer: 'globex',
          path: 'p',
          protocol: 'ftp',
          clientAddress: 'a',
          bytes: 1,
          durationMs: 1,
          outcome: 'complete',
          at: '2026-01-01T00:00:00Z',
        },
      ],
    },
    {
      events: [
        {
          eventId: 'file-1:00000001',
          customer: 'globex',
          path: 'p',
          protocol: 'ftp',
          clientAddress: 'a',
          bytes: -5,
          durationMs: 1,
          outcome: 'complete',
          at: '2026-01-01T00:00:00Z',
        },
      ],
    },
    { events: 'all of them' },
  ],
  'audit.recordCompact': [
    { groups: [] },
    { groups: [{ customer: 'globex', path: '/p', protocol: 'http', clientAddress: 'a', idPrefix: 'short', events: '1 10 1 c 1767225600000' }] },
    { groups: [{ customer: 'globex', path: '/p', protocol: 'http', clientAddress: 'a', idPrefix: 'prefix-0001', events: '1 -10 1 c 1767225600000' }] },
    { groups: [{ customer: 'globex', path: '/p', protocol: 'http', clientAddress: 'a', idPrefix: 'prefix-0001', events: '1 10 1 complete 1767225600000' }] },
    {
      groups: [
        {
          customer: 'globex',
          path: '/p',
          protocol: 'http',
          clientAddress: 'a',
          idPrefix: 'prefix-0001',
          events: '1 10 1 c 1767225600000\n2 10 1 c 99999999999999999',
        },
      ],
    },
    { groups: [{ customer: 'nobody', path: '/p', protocol: 'http', clientAddress: 'a', idPrefix: 'prefix-0001', events: '1 10 1 c 1767225600000' }] },
  ],
  'changes.next': [{ after: -1 }, { after: 0, limit: 0 }, { after: 0, limit: 1001 }, { after: 0, waitMs: 25_001 }, { after: 1.5 }, {}],
  'changes.list': [{ limit: 0 }, { kind: 'customer.deleted' }, { vendor: 7 }, { customer: '' }, { cursor: 'not a cursor!' }],
  'audit.query': [{ limit: 0 }, { since: 'yesterday' }, { customer: 'nobody' }],
  'webhook.create': [
    { ownerKind: 'admin', url: 'ftp://hooks.example/x', events: ['release.published'] },
    { ownerKind: 'vendor', owner: 'Nobody', url: 'https://hooks.example/x', events: ['release.published'] },
    { ownerKind: 'customer', url: 'https://hooks.example/x', events: ['release.published'] },
    { ownerKind: 'admin', owner: 'globex', url: 'https://hooks.example/x', events: ['release.published'] },
    { ownerKind: 'admin', url: 'https://user:pw@hooks.example/x', events: ['release.published'] },
    { ownerKind: 'admin', url: 'https://hooks.example/x#f', events: ['release.published'] },
    { ownerKind: 'admin', url: `https://hooks.example/${'a'.repeat(2048)}`, events: ['release.published'] },
    { ownerKind: 'admin', url: 'https://hooks.example/x', events: [] },
    { ownerKind: 'admin', url: 'https://hooks.example/x', events: ['customer.created'] },
    { ownerKind: 'admin', url: 'https://hooks.example/x', events: ['release.yanked', 'release.yanked'] },
  ],
  'webhook.list': [{ limit: 0 }, { ownerKind: 'root' }, { cursor: 'not a cursor!' }],
  'webhook.get': [{ id: 0 }, { id: 999 }],
  'webhook.delete': [{ id: 999 }, { id: '1' }],
  'webhook.enable': [{ id: 999 }],
  'webhook.deliveries': [{ id: 999 }, { id: 1, limit: 0 }],
  'webhook.lease': [{ holder: 'a b', ttlMs: 5000 }, { holder: 'h', ttlMs: 10 }, { holder: 'h' }],
  'webhook.release': [{ holder: '' }, {}],
  'webhook.pending': [
    { holder: 'h', id: 999 },
    { holder: 'h', id: 1, limit: 0 },
  ],
  'webhook.report': [
    { holder: 'h', id: 999, seq: 1, outcome: 'delivered', event: 'release.published' },
    { holder: 'h', id: 1, seq: -1, outcome: 'skipped' },
    { holder: 'h', id: 1, seq: 1, outcome: 'lost' },
  ],
  'webhook.prune': [{ keepMs: -1 }, {}],
  'admin.backup': [{ name: '../escape.sqlite' }, { name: 'a/b' }],
  'db.info': [],
};

test('the internal-db implements every operation of its contract, and nothing else', (t) => {
  t.deepEqual(
    OPERATIONS.map((op) => op.operation),
    [...INTERNAL_DB_OPERATIONS],
  );
});

test('every operation refuses bad input with a typed error and changes nothing', async (t) => {
  const { call, service } = await startInternalDb(t);
  await seedCatalogue(call);
  await call('release.create', { product: 'acme-db', version: '9.9.9' }); // a draft without artifacts
  const snapshot = () => {
    const hash = createHash('sha256');
    for (const table of TABLES) hash.update(JSON.stringify(service.db.prepare(`SELECT * FROM ${table} ORDER BY rowid`).all()));
    return hash.digest('hex');
  };
  const before = snapshot();
  t.deepEqual(Object.keys(BAD).sort(), INTERNAL_DB_OPERATIONS.map((op) => op.name).sort(), 'every operation has its bad-input cases');
  let refused = 0;
  for (const op of INTERNAL_DB_OPERATIONS) {
    for (const body of [{ ...(BAD[op.name]?.[0] ?? {}), unexpectedField: 1 }, ...(BAD[op.name] ?? [])]) {
      try {
        await call(op.name, body);
        t.fail(`${op.name} accepted ${JSON.stringify(body)}`);
      } catch (err) {
        const code = (err as CodedError).code;
        t.true(
          ['ERR_INVALID_INPUT', 'ERR_NOT_FOUND', 'ERR_CONFLICT', 'ERR_STATE', 'ERR_AUTH_REFUSED', 'ERR_BACKUP_FAILED', 'ERR_TOBJ_TYPE'].includes(code),
          `${op.name} ${JSON.stringify(body)} → ${code}: ${(err as Error).message}`,
        );
        if (code === 'ERR_INVALID_INPUT' && 'unexpectedField' in body) t.regex((err as Error).message, /unexpectedField/);
        refused++;
      }
    }
  }
  t.true(refused > 80);
  t.is(snapshot(), before, 'no table changed');
  t.like(await call('db.info'), { customers: 1 }, 'the service still answers');
});
