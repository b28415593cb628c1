import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { apiRoutes } from '../services/web/api/index.js';
import { openApiPath } from '../services/web/api/openapi.js';
import { api, apiAt, makeTokens } from './helpers/api.js';
import { createLogger } from '../lib/log/logger.js';
import { startChain, waitFor, type Chain } from './helpers/chain.js';
import { requestsSent } from './helpers/web-hosts.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** acme-db with releases published through the API as the vendor; globex entitled to `range`. */
async function setup(t: Parameters<typeof startChain>[0], range = '*') {
  const chain = await startChain(t, { webHttp: {} });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  const tokens = await makeTokens(chain);
  const contents = new Map<string, Buffer>();
  t.is((await api(chain, 'POST', '/api/v1/products', { token: tokens.vendor, json: { code: 'acme-db', name: 'Acme DB' } })).status, 201);
  for (const [version, channel] of [
    ['1.0.0', 'stable'],
    ['1.1.0', 'stable'],
    ['2.0.0-beta.1', 'beta'],
  ] as const) {
    t.is((await api(chain, 'POST', '/api/v1/products/acme-db/releases', { token: tokens.vendor, json: { version, channel } })).status, 201);
    for (const platform of ['linux', 'windows']) {
      const content = randomBytes(50_000);
      contents.set(`${version}/${platform}`, content);
      const res = await api(
        chain,
        'PUT',
        `/api/v1/products/acme-db/releases/${version}/artifacts/acme-${version}-${platform}.zip?platform=${platform}&arch=x64`,
        { token: tokens.vendor, body: content },
      );
      t.is(res.status, 201, res.text);
    }
    t.is((await api(chain, 'POST', `/api/v1/products/acme-db/releases/${version}/publish`, { token: tokens.vendor })).status, 200);
  }
  t.is((await api(chain, 'POST', '/api/v1/customers/globex/entitlements', { token: tokens.admin, json: { product: 'acme-db', range } })).status, 201);
  return { chain, tokens, contents };
}

async function artifactsOf(chain: Chain, token: string, query = '') {
  return (await api(chain, 'GET', `/api/v1/downloads${query}`, { token })).body.artifacts as {
    artifactId: number;
    version: string;
    platform: string;
    sha256: string;
  }[];
}

test('customer: entitlements, downloads filtered, a JSON link and a 303 that both download the right bytes', async (t) => {
  const { chain, tokens, contents } = await setup(t, '^1.0.0');
  const entitlements = await api(chain, 'GET', '/api/v1/entitlements', { token: tokens.customer });
  t.like((entitlements.body.entitlements as unknown[])[0], { product: 'acme-db', range: '^1.0.0', status: 'active' });
  const all = await artifactsOf(chain, tokens.customer);
  t.deepEqual([...new Set(all.map((a) => a.version))], ['1.1.0', '1.0.0'], 'newest first; the beta is outside ^1.0.0');
  const linux = await artifactsOf(chain, tokens.customer, '?platform=linux');
  t.deepEqual(
    linux.map((a) => `${a.version}/${a.platform}`),
    ['1.1.0/linux', '1.0.0/linux'],
  );
  const target = linux[1]!;
  const link = await api(chain, 'GET', `/api/v1/artifacts/${target.artifactId}/link`, { token: tokens.customer });
  t.is(link.status, 200);
  t.is(link.body.sha256, sha(contents.get('1.0.0/linux')!));
  t.true(Date.parse(link.body.expiresAt as string) > Date.now());
  const viaLink = await fetch(link.body.url as string);
  t.true(Buffer.from(await viaLink.arrayBuffer()).equals(contents.get('1.0.0/linux')!));
  const redirect = await api(chain, 'GET', `/api/v1/artifacts/${target.artifactId}/download`, { token: tokens.customer });
  t.is(redirect.status, 303);
  const viaRedirect = await fetch(redirect.headers.get('location')!);
  t.is(viaRedirect.headers.get('x-checksum-sha256'), target.sha256);
  // Not entitled: the beta, and an artifact id that does not exist.
  const betaId = (await chain.call('release.list', { product: 'acme-db' })).releases as { version: string; artifacts: { id: number }[] }[];
  const beta = betaId.find((r) => r.version === '2.0.0-beta.1')!.artifacts[0]!.id;
  for (const id of [beta, 99999]) {
    const refused = await api(chain, 'GET', `/api/v1/artifacts/${id}/download`, { token: tokens.customer });
    t.is(refused.status, 403);
    t.is((refused.body.error as { code: string }).code, 'ERR_NOT_ENTITLED');
  }
});

test('customer: upgrade answers 303 to the newest newer release for the platform and channel, 204 when up to date', async (t) => {
  const { chain, tokens, contents } = await setup(t);
  const newer = await api(chain, 'GET', '/api/v1/upgrade?product=acme-db&current=1.0.0&platform=windows&channel=stable', { token: tokens.customer });
  t.is(newer.status, 303);
  t.is(newer.body.version, '1.1.0');
  const file = await fetch(newer.headers.get('location')!);
  t.true(Buffer.from(await file.arrayBuffer()).equals(contents.get('1.1.0/windows')!));
  const beta = await api(chain, 'GET', '/api/v1/upgrade?product=acme-db&current=1.1.0&channel=beta', { token: tokens.customer });
  t.is(beta.status, 303);
  t.is(beta.body.version, '2.0.0-beta.1');
  const upToDate = await api(chain, 'GET', '/api/v1/upgrade?product=acme-db&current=1.1.0&channel=stable', { token: tokens.customer });
  t.is(upToDate.status, 204);
  t.is(upToDate.text, '');
});

test('customer: a EULA stands before staging and links until accepted; acceptance is recorded', async (t) => {
  const { chain, tokens } = await setup(t);
  const eula = await api(chain, 'POST', '/api/v1/eulas', { token: tokens.vendor, json: { title: 'Acme licence', body: 'You may use it.' } });
  t.is(eula.status, 201);
  t.is((await api(chain, 'PUT', '/api/v1/products/acme-db/eula', { token: tokens.vendor, json: { eula: eula.body.id } })).status, 200);
  const [first] = await artifactsOf(chain, tokens.customer);
  const gated = await api(chain, 'GET', `/api/v1/artifacts/${first!.artifactId}/link`, { token: tokens.customer });
  t.is(gated.status, 403);
  t.is((gated.body.error as { code: string }).code, 'ERR_EULA_REQUIRED');
  t.is((await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } })).status, 403);
  t.is((await api(chain, 'GET', `/api/v1/eulas/${eula.body.id}`, { token: tokens.customer })).body.body, 'You may use it.');
  t.is((await api(chain, 'POST', `/api/v1/eulas/${eula.body.id}/accept`, { token: tokens.customer })).status, 200);
  t.is((await api(chain, 'GET', `/api/v1/artifacts/${first!.artifactId}/link`, { token: tokens.customer })).status, 200);
  const resolved = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { eulaAccepted: boolean }[];
  t.true(resolved.every((a) => a.eulaAccepted));
});

test('customer: staging answers the files with links, and where to log in by FTP and SFTP', async (t) => {
  const passive = 31_500 + Math.floor(Math.random() * 20) * 20;
  const chain = await startChain(t, {
    webHttp: {},
    fileHost: {
      sftp: { port: 0, hostKey: generateEd25519().private },
      ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 9, passiveAddress: '', requireTls: false },
    },
  });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  const tokens = await makeTokens(chain);
  await api(chain, 'POST', '/api/v1/products', { token: tokens.vendor, json: { code: 'acme-db', name: 'Acme DB' } });
  await api(chain, 'POST', '/api/v1/products/acme-db/releases', { token: tokens.vendor, json: { version: '1.0.0' } });
  await api(chain, 'PUT', '/api/v1/products/acme-db/releases/1.0.0/artifacts/a.zip', { token: tokens.vendor, body: randomBytes(1000) });
  await api(chain, 'POST', '/api/v1/products/acme-db/releases/1.0.0/publish', { token: tokens.vendor });
  await api(chain, 'POST', '/api/v1/customers/globex/entitlements', { token: tokens.admin, json: { product: 'acme-db' } });
  const staged = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } });
  t.is(staged.status, 201);
  t.is(staged.body.login, 'globex');
  t.is(staged.body.ftpUrl, `ftp://globex@127.0.0.1:${chain.fileHost.ftpAddress!.port}/acme-db/1.0.0/`);
  t.is(staged.body.sftpUrl, `sftp://globex@127.0.0.1:${chain.fileHost.sftpAddress!.port}/acme-db/1.0.0/`);
  const files = staged.body.files as { path: string; url: string }[];
  t.is(files[0]!.path, '/acme-db/1.0.0/a.zip');
  t.is((await fetch(files[0]!.url)).status, 200);
});

test('vendor: yank withdraws a release (no new links); admin: revoking an entitlement empties the area at once', async (t) => {
  const { chain, tokens } = await setup(t);
  const [newest] = await artifactsOf(chain, tokens.customer, '?channel=stable');
  t.is(newest!.version, '1.1.0');
  t.is((await api(chain, 'GET', `/api/v1/artifacts/${newest!.artifactId}/link`, { token: tokens.customer })).status, 200);
  const yank = await api(chain, 'POST', '/api/v1/products/acme-db/releases/1.1.0/yank', { token: tokens.vendor });
  t.is(yank.status, 200);
  t.is((await api(chain, 'GET', `/api/v1/artifacts/${newest!.artifactId}/link`, { token: tokens.customer })).status, 403);
  const [older] = await artifactsOf(chain, tokens.customer, '?channel=stable');
  t.is(older!.version, '1.0.0');
  t.is((await api(chain, 'GET', `/api/v1/artifacts/${older!.artifactId}/link`, { token: tokens.customer })).status, 200);
  const staged = join(chain.fileDir, 'areas', 'globex', 'acme-db', '1.0.0');
  await access(staged);
  const { entitlements } = (await api(chain, 'GET', '/api/v1/customers/globex/entitlements', { token: tokens.admin })).body as {
    entitlements: { id: number }[];
  };
  t.is(
    (await api(chain, 'DELETE', `/api/v1/customers/initech/entitlements/${entitlements[0]!.id}`, { token: tokens.admin })).status,
    404,
    'the customer must own the entitlement',
  );
  const revoked = await api(chain, 'DELETE', `/api/v1/customers/globex/entitlements/${entitlements[0]!.id}`, { token: tokens.admin });
  t.is(revoked.status, 200);
  t.true((revoked.body.removed as string[]).length > 0);
  await t.throwsAsync(access(staged), undefined, 'the staged release left the area');
  t.is((await artifactsOf(chain, tokens.customer)).length, 0);
});

test('admin: customers, SSH keys, tokens, vendors, file hosts; conflicts are 409', async (t) => {
  const { chain, tokens } = await setup(t);
  t.is(
    (await api(chain, 'POST', '/api/v1/customers', { token: tokens.admin, json: { login: 'initech', name: 'Initech', email: 'ops@initech.example' } })).status,
    201,
  );
  const again = await api(chain, 'POST', '/api/v1/customers', { token: tokens.admin, json: { login: 'initech', name: 'Initech' } });
  t.is(again.status, 409);
  t.is((again.body.error as { code: string }).code, 'ERR_CONFLICT');
  t.is((await api(chain, 'GET', '/api/v1/customers/nobody', { token: tokens.admin })).status, 404);
  const key = generateEd25519('ops@initech').public;
  const added = await api(chain, 'POST', '/api/v1/customers/initech/ssh-keys', { token: tokens.admin, json: { publicKey: key } });
  t.is(added.status, 201);
  const fingerprint = added.body.fingerprint as string;
  t.is(((await api(chain, 'GET', '/api/v1/customers/initech', { token: tokens.admin })).body.sshKeys as unknown[]).length, 1);
  t.is((await api(chain, 'DELETE', `/api/v1/customers/initech/ssh-keys?fingerprint=${encodeURIComponent(fingerprint)}`, { token: tokens.admin })).status, 200);
  const disabled = await api(chain, 'PATCH', '/api/v1/customers/initech', { token: tokens.admin, json: { disabled: true, password: 'a long new password' } });
  t.like(disabled.body, { disabled: true, hasPassword: true });
  t.is((await api(chain, 'PATCH', '/api/v1/customers/initech', { token: tokens.admin, json: {} })).status, 400);
  const token = await api(chain, 'POST', '/api/v1/tokens', { token: tokens.admin, json: { kind: 'customer', owner: 'initech', label: 'ci' } });
  t.is(token.status, 201);
  t.regex(token.body.token as string, /^.{20,}$/);
  const listed = (await api(chain, 'GET', '/api/v1/tokens', { token: tokens.admin })).text;
  t.false(listed.includes(token.body.token as string), 'tokens are never listed');
  t.is((await api(chain, 'POST', '/api/v1/vendors', { token: tokens.admin, json: { name: 'Initech Tools' } })).status, 201);
  const admins = await api(chain, 'POST', '/api/v1/products', { token: tokens.admin, json: { code: 'tools', name: 'Tools' } });
  t.is(admins.status, 400, 'an admin names the vendor');
  t.is((await api(chain, 'POST', '/api/v1/products', { token: tokens.admin, json: { code: 'tools', name: 'Tools', vendor: 'Initech Tools' } })).status, 201);
  const hosts = (await api(chain, 'GET', '/api/v1/file-hosts', { token: tokens.admin })).body.fileHosts as { name: string }[];
  t.deepEqual(
    hosts.map((h) => h.name),
    ['file-1'],
  );
});

test('the OpenAPI document lists every route with its method, and the ops endpoints answer', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  const doc = await api(chain, 'GET', '/api/v1/openapi.json');
  t.is(doc.body.openapi, '3.1.0');
  const paths = doc.body.paths as Record<string, Record<string, { parameters: unknown[] }>>;
  const routes = apiRoutes({} as never);
  for (const r of routes) t.truthy(paths[`/api/v1${openApiPath(r.path)}`]?.[r.method], `${r.method} ${r.path}`);
  t.is(
    Object.values(paths).reduce((n, p) => n + Object.keys(p).length, 0),
    routes.length,
  );
  // Every success answer that has a body says what is in it; the upload documents its checksum header.
  type Operation = { parameters: { name: string; in: string }[]; responses: Record<string, { content?: Record<string, { schema: { properties?: object } }> }> };
  for (const r of routes) {
    const operation = paths[`/api/v1${openApiPath(r.path)}`]![r.method] as unknown as Operation;
    for (const status of Object.keys(r.responses).filter((s) => s !== '204')) {
      const schema = operation.responses[status]?.content?.['application/json']?.schema;
      t.truthy(schema?.properties, `${r.method} ${r.path} ${status}: its body's fields are described`);
    }
  }
  const upload = paths['/api/v1/products/{product}/releases/{version}/artifacts/{filename}']!.put as unknown as Operation;
  t.truthy(upload.parameters.find((p) => p.in === 'header' && p.name === 'x-checksum-sha256'));
  t.deepEqual((await api(chain, 'GET', '/healthz')).body, { status: 'ok' });
  t.is((await api(chain, 'GET', '/readyz')).status, 200);
  const id = 'trace-123.abc';
  t.is((await api(chain, 'GET', '/healthz', { headers: { 'x-request-id': id } })).headers.get('x-request-id'), id);
  t.not((await api(chain, 'GET', '/healthz', { headers: { 'x-request-id': 'bad id with spaces' } })).headers.get('x-request-id'), 'bad id with spaces');
  await api(chain, 'GET', '/api/v1/downloads', { token: 'x'.repeat(30) });
  t.is((await api(chain, 'GET', '/metrics')).status, 404, 'not on the public port');
  const metrics = (await apiAt(chain.web.opsUrl, 'GET', '/metrics')).text;
  t.regex(metrics, /ffs_web_http_requests_total\{method="GET",route="\/healthz",status="200"\} [1-9]/);
  t.regex(metrics, /ffs_web_auth_total\{method="token",outcome="refused"\} 1/);
  t.regex(metrics, /ffs_web_commlink_request_duration_seconds_count\{peer="internal-db",op="token.check",outcome="error"\} 1/);
  t.regex(metrics, /nodejs_eventloop_lag_p99_seconds/);
  t.regex(metrics, /ffs_web_file_hosts 1/);
  // The internal-db goes away: not ready, and requests that need it are 503, not a hang or a crash.
  await chain.service.close(0);
  await waitFor(() => !chain.web.db.connected, 5000, 'the web host to see the internal-db go');
  const notReady = await api(chain, 'GET', '/readyz');
  t.is(notReady.status, 503);
  t.deepEqual(notReady.body.missing, ['internal-db']);
  const unavailable = await api(chain, 'GET', '/api/v1/downloads', { token: 'y'.repeat(30) });
  t.is(unavailable.status, 503);
  t.is((unavailable.body.error as { code: string }).code, 'ERR_GATEWAY_UNAVAILABLE');
  t.is((await api(chain, 'GET', '/healthz')).status, 200);
});

test('every request leaves one JSON access-log line with its request id, route and status, never the query string', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger({ level: 'info', write: (line) => lines.push(JSON.parse(line) as Record<string, unknown>) });
  const chain = await startChain(t, { webHttp: {}, log });
  await api(chain, 'GET', '/api/v1/downloads?product=secret-query-value', { token: 'z'.repeat(30), headers: { 'x-request-id': 'req-42' } });
  await waitFor(() => lines.some((l) => l.msg === 'request' && l.requestId === 'req-42'), 2000, 'the access-log line');
  const line = lines.find((l) => l.msg === 'request' && l.requestId === 'req-42')!;
  t.like(line, { level: 'info', method: 'GET', path: '/api/v1/downloads', route: '/api/v1/downloads', status: 401 });
  t.false(JSON.stringify(lines).includes('secret-query-value'));
  t.false(JSON.stringify(lines).includes('z'.repeat(30)), 'no token is logged');
});

test('a checked API token is remembered, and forgotten on its revocation: behind the web host within 1 s (the change feed); through it, at once', async (t) => {
  const chain = await startChain(t, { webHttp: { apiTokenCacheSeconds: 300 } });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  const tokens = await makeTokens(chain);
  const idOf = async (kind: string) => ((await chain.call('token.list')).tokens as { id: number; ownerKind: string }[]).find((x) => x.ownerKind === kind)!.id;
  const status = async (path: string, token: string) => (await api(chain, 'GET', path, { token })).status;
  t.is(await status('/api/v1/products', tokens.vendor), 200);
  const checks = await requestsSent(chain.web, 'token.check');
  t.is(await status('/api/v1/products', tokens.vendor), 200);
  t.is(await requestsSent(chain.web, 'token.check'), checks, 'remembered');
  await chain.call('token.revoke', { id: await idOf('vendor') }); // in the internal-db, behind the web host (the admin CLI)
  const revoked = performance.now();
  await waitFor(async () => (await status('/api/v1/products', tokens.vendor)) === 401, 5000, 'the revoked token to be refused');
  t.true(performance.now() - revoked < 1000, 'within 1 s');
  t.is(await status('/api/v1/entitlements', tokens.customer), 200);
  t.is((await api(chain, 'DELETE', `/api/v1/tokens/${await idOf('customer')}`, { token: tokens.admin })).status, 200);
  t.is(await status('/api/v1/entitlements', tokens.customer), 401, 'revoked through this web host: forgotten at once');
});
