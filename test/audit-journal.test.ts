import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiAt, uploadFile } from './helpers/api.js';
import { fileHostEnv, startBackbone, startService, tail } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

test('transfers a killed file host had not reported yet reach the audit when it starts again (from its journal)', async (t) => {
  const backbone = await startBackbone(t);
  const { dataDir, webUrl, call } = backbone;
  const env = fileHostEnv(backbone, 34_000 + Math.floor(Math.random() * 50) * 10);
  // Outcomes wait a minute before they are sent: the host is killed while they wait.
  const first = startService(t, 'file-1', 'file-host', { ...env, FFS_SERVICES__FTP__AUDIT_FLUSH_MS: '60000' });
  await first.ready();
  const api = (method: string, path: string, options: { token?: string; json?: unknown } = {}) => apiAt(webUrl, method, path, options);
  const admin = (await call('token.create', { kind: 'admin' })).token as string;
  await waitFor(
    async () => (((await api('GET', '/api/v1/file-hosts', { token: admin })).body.fileHosts as unknown[]) ?? []).length === 1,
    20_000,
    () => tail(first),
  );
  await call('vendor.create', { name: 'Acme Software' });
  const vendor = (await call('token.create', { kind: 'vendor', owner: 'Acme Software' })).token as string;
  await api('POST', '/api/v1/products', { token: vendor, json: { code: 'acme-db', name: 'Acme DB' } });
  await api('POST', '/api/v1/products/acme-db/releases', { token: vendor, json: { version: '1.0.0' } });
  const file = join(dataDir, 'artifact.bin');
  await writeFile(file, randomBytes(64 * 1024));
  t.is((await uploadFile(`${webUrl}/api/v1/products/acme-db/releases/1.0.0/artifacts/acme-db.bin`, vendor, file, 64 * 1024)).status, 201);
  await api('POST', '/api/v1/products/acme-db/releases/1.0.0/publish', { token: vendor });
  await api('POST', '/api/v1/customers', { token: admin, json: { login: 'globex', name: 'Globex' } });
  await api('POST', '/api/v1/customers/globex/entitlements', { token: admin, json: { product: 'acme-db' } });
  const customer = (await api('POST', '/api/v1/tokens', { token: admin, json: { kind: 'customer', owner: 'globex' } })).body.token as string;
  const { artifacts } = (await api('GET', '/api/v1/downloads', { token: customer })).body as { artifacts: { artifactId: number }[] };
  const link = (await api('GET', `/api/v1/artifacts/${artifacts[0]!.artifactId}/link`, { token: customer })).body.url as string;
  for (let n = 0; n < 3; n++) t.is(await fetch(link).then(async (r) => ((await r.arrayBuffer()).byteLength === 64 * 1024 ? r.status : -1)), 200);

  const journal = join(dataDir, 'audit-journal', 'file-1.jsonl');
  await waitFor(
    async () => (await readFile(journal, 'utf8').catch(() => '')).split('\n').filter(Boolean).length === 3,
    10_000,
    'three outcomes in the journal',
  );
  first.signal('SIGKILL');
  await first.exited;
  const recorded = async () =>
    ((await api('GET', '/api/v1/audit?customer=globex', { token: admin })).body.events as { outcome: string; bytes: number }[]) ?? [];
  t.deepEqual(await recorded(), [], 'nothing was recorded before the kill');

  const second = startService(t, 'file-1 (again)', 'file-host', env);
  await second.ready();
  await waitFor(
    async () => (await recorded()).length === 3,
    20_000,
    () => `the three transfers in the audit\n${tail(second)}`,
  );
  const events = await recorded();
  t.true(events.every((e) => e.outcome === 'complete' && e.bytes === 64 * 1024));
  await waitFor(async () => (await readFile(journal, 'utf8')) === '', 10_000, 'the journal emptied once they landed');
});
