import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { main } from '../scripts/admin.js';
import { openDatabase } from '../services/internal-db/db/open.js';
import { verifyPassword } from '../services/internal-db/passwords.js';

const adminScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'admin.js');

async function cli(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-admin-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const env = { FFS_DATA_DIR: dir, FFS_SERVICES__INTERNAL_DB__SCRYPT_LOG_N: '14' };
  const run = async (argv: string[], stdin?: string) => {
    let stdout = '';
    let stderr = '';
    const code = await main(argv, { env, cwd: dir, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) }, stdin);
    return { code, stdout, stderr };
  };
  const db = () => openDatabase(join(dir, 'internal-db', 'fulfillment.sqlite'));
  return { dir, env, run, db };
}

test('catalogue commands create what they say, and list it', async (t) => {
  const { run } = await cli(t);
  t.is((await run(['vendor', 'create', '--name', 'Acme Software'])).code, 0);
  t.is((await run(['product', 'create', '--vendor', 'Acme Software', '--code', 'acme-db', '--name', 'Acme DB'])).code, 0);
  t.is((await run(['release', 'create', '--product', 'acme-db', '--version', '1.2.3'])).code, 0);
  const releases = await run(['release', 'list', '--product', 'acme-db']);
  t.regex(releases.stdout, /^version\s+channel\s+status/m);
  t.regex(releases.stdout, /^1\.2\.3\s+stable\s+draft/m);
  const products = await run(['product', 'list', '--json']);
  t.deepEqual(
    (JSON.parse(products.stdout) as { products: { code: string }[] }).products.map((p) => p.code),
    ['acme-db'],
  );
  const refused = await run(['release', 'publish', '--product', 'acme-db', '--version', '1.2.3']);
  t.is(refused.code, 3);
  t.regex(refused.stderr, /ERR_STATE/);
});

test('customer create prints a generated password once, and that password verifies', async (t) => {
  const { run, db } = await cli(t);
  const created = await run(['customer', 'create', '--login', 'globex', '--name', 'Globex']);
  t.is(created.code, 0);
  const password = /password: (\S+)/.exec(created.stdout)?.[1] as string;
  t.true(password.length >= 20);
  const d = db();
  const hash = (d.prepare('SELECT password_hash FROM customers WHERE login = ?').get('globex') as { password_hash: string }).password_hash;
  d.close();
  t.true(await verifyPassword(password, hash));
  t.false(hash.includes(password));
  t.false((await run(['customer', 'list'])).stdout.includes(password), 'never shown again');
});

test('--password-stdin takes the password from standard input and never prints it', async (t) => {
  const { run, db } = await cli(t);
  const created = await run(['customer', 'create', '--login', 'initech', '--name', 'Initech', '--password-stdin'], 'my chosen passphrase\n');
  t.is(created.code, 0);
  t.false(created.stdout.includes('my chosen passphrase'));
  const d = db();
  const hash = (d.prepare('SELECT password_hash FROM customers WHERE login = ?').get('initech') as { password_hash: string }).password_hash;
  d.close();
  t.true(await verifyPassword('my chosen passphrase', hash));
  const short = await run(['customer', 'create', '--login', 'tiny', '--name', 'Tiny', '--password-stdin'], 'short\n');
  t.is(short.code, 3);
  t.regex(short.stderr, /ERR_INVALID_INPUT/);
});

test('entitlements: grant, list with status, revoke', async (t) => {
  const { run } = await cli(t);
  await run(['seed-demo']);
  await run(['customer', 'create', '--login', 'bob', '--name', 'Bob', '--no-password']);
  const granted = await run([
    'entitlement',
    'grant',
    '--customer',
    'bob',
    '--product',
    'acme-db',
    '--range',
    '^2.0.0',
    '--expires',
    '2099-01-01T00:00:00Z',
    '--on-expiry',
    'revoke',
    '--json',
  ]);
  t.is(granted.code, 0, granted.stderr);
  const id = (JSON.parse(granted.stdout) as { id: number }).id;
  t.regex((await run(['entitlement', 'list', '--customer', 'bob'])).stdout, new RegExp(`^${id}\\s+acme-db\\s+\\^2\\.0\\.0.*revoke\\s+active$`, 'm'));
  t.is((await run(['entitlement', 'revoke', '--id', String(id)])).code, 0);
  t.regex((await run(['entitlement', 'list', '--customer', 'bob'])).stdout, /revoked$/m);
});

test('usage errors exit 2 and name the problem; refusals exit 3 with the code', async (t) => {
  const { run } = await cli(t);
  const unknown = await run(['frobnicate']);
  t.is(unknown.code, 2);
  t.regex(unknown.stderr, /unknown command "frobnicate"/);
  const missing = await run(['vendor', 'create']);
  t.is(missing.code, 2);
  t.regex(missing.stderr, /--name is required/);
  const badFlag = await run(['vendor', 'list', '--colour']);
  t.is(badFlag.code, 2);
  await run(['vendor', 'create', '--name', 'Acme']);
  const duplicate = await run(['vendor', 'create', '--name', 'Acme']);
  t.is(duplicate.code, 3);
  t.regex(duplicate.stderr, /^admin: ERR_CONFLICT: /m);
  t.is((await run(['help'])).code, 0);
});

test('seed-demo is idempotent; tokens and password are shown once; backup writes a file', async (t) => {
  const { run, db, dir } = await cli(t);
  const first = await run(['seed-demo']);
  t.is(first.code, 0);
  t.regex(first.stdout, /adminToken: ffs_/);
  const counts = () => {
    const d = db();
    const n = ['vendors', 'products', 'releases', 'customers', 'entitlements', 'api_tokens'].map(
      (table) => (d.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n,
    );
    d.close();
    return n;
  };
  const before = counts();
  t.deepEqual(before, [1, 1, 2, 1, 1, 3]);
  const second = await run(['seed-demo']);
  t.regex(second.stdout, /demo data present/);
  t.deepEqual(counts(), before);
  t.is((await run(['backup', '--name', 'nightly.sqlite'])).code, 0);
  t.deepEqual(await readdir(join(dir, 'backups')), ['nightly.sqlite']);
});

test('the compiled script runs as a command', async (t) => {
  const { env, dir } = await cli(t);
  const result = spawnSync(process.execPath, [adminScript, 'vendor', 'list'], { env: { ...process.env, ...env }, cwd: dir, encoding: 'utf8' });
  t.is(result.status, 0, result.stderr);
  t.regex(result.stdout, /\(none\)/);
});

test('every change the CLI makes records the admin (the OS user, from cli); admin changes lists the log, filtered, newest first', async (t) => {
  const { run } = await cli(t);
  t.is((await run(['vendor', 'create', '--name', 'Acme Software'])).code, 0);
  t.is((await run(['product', 'create', '--vendor', 'Acme Software', '--code', 'acme-db', '--name', 'Acme DB'])).code, 0);
  t.is((await run(['customer', 'create', '--login', 'globex', '--name', 'Globex', '--no-password'])).code, 0);
  t.is((await run(['entitlement', 'grant', '--customer', 'globex', '--product', 'acme-db'])).code, 0);
  t.is((await run(['entitlement', 'revoke', '--id', '1'])).code, 0);
  const all = JSON.parse((await run(['changes', '--json'])).stdout) as { changes: { seq: number; kind: string; actor: Record<string, string> }[] };
  t.deepEqual(
    all.changes.map((c) => c.kind),
    ['entitlement.revoked', 'entitlement.granted', 'customer.created', 'product.created', 'vendor.created'],
  );
  for (const c of all.changes) t.like(c.actor, { kind: 'admin', id: userInfo().username, address: 'cli' });
  const limited = JSON.parse((await run(['changes', '--json', '--limit', '2'])).stdout) as { changes: { seq: number }[] };
  t.deepEqual(
    limited.changes.map((c) => c.seq),
    [5, 4],
  );
  const ofCustomer = JSON.parse((await run(['changes', '--json', '--customer', 'globex', '--kind', 'entitlement.granted'])).stdout) as {
    changes: { kind: string }[];
  };
  t.deepEqual(
    ofCustomer.changes.map((c) => c.kind),
    ['entitlement.granted'],
  );
  const text = await run(['changes', '--vendor', 'Acme Software']);
  t.regex(text.stdout, /^seq\s+at\s+kind\s+subject\s+by/m);
  t.regex(text.stdout, /^1\s+\S+\s+vendor\.created\s+vendor=Acme Software\s+admin \S+ @cli$/m);
  const refused = await run(['changes', '--kind', 'nope']);
  t.is(refused.code, 3);
  t.regex(refused.stderr, /ERR_INVALID_INPUT/);
  t.is((await run(['changes', '--limit', 'many'])).code, 3);
});
