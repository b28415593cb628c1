import test from 'ava';
import { randomBytes, createHash } from 'node:crypto';
import { api, apiAt, makeTokens } from './helpers/api.js';
import { startChain } from './helpers/chain.js';

test('smoke: vendor uploads, admin entitles, customer gets a 303 that downloads', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  const tokens = await makeTokens(chain);
  t.is((await api(chain, 'POST', '/api/v1/products', { token: tokens.vendor, json: { code: 'acme-db', name: 'Acme DB' } })).status, 201);
  t.is((await api(chain, 'POST', '/api/v1/products/acme-db/releases', { token: tokens.vendor, json: { version: '1.0.0' } })).status, 201);
  const content = randomBytes(3_000_000);
  const up = await api(chain, 'PUT', '/api/v1/products/acme-db/releases/1.0.0/artifacts/acme.tar.gz?platform=linux&arch=x64', {
    token: tokens.vendor,
    body: content,
    headers: { 'content-type': 'application/octet-stream' },
  });
  t.is(up.status, 201, up.text);
  t.is(up.body.sha256, createHash('sha256').update(content).digest('hex'));
  t.is((await api(chain, 'POST', '/api/v1/products/acme-db/releases/1.0.0/publish', { token: tokens.vendor })).status, 200);
  t.is((await api(chain, 'POST', '/api/v1/customers/globex/entitlements', { token: tokens.admin, json: { product: 'acme-db' } })).status, 201);
  const list = await api(chain, 'GET', '/api/v1/downloads', { token: tokens.customer });
  t.is(list.status, 200, list.text);
  const artifactId = (list.body.artifacts as { artifactId: number }[])[0]!.artifactId;
  const redirect = await api(chain, 'GET', `/api/v1/artifacts/${artifactId}/download`, { token: tokens.customer });
  t.is(redirect.status, 303, redirect.text);
  const file = await fetch(redirect.headers.get('location')!);
  t.true(Buffer.from(await file.arrayBuffer()).equals(content));
  const doc = await api(chain, 'GET', '/api/v1/openapi.json');
  t.is(doc.status, 200);
  t.is((await apiAt(chain.web.opsUrl, 'GET', '/metrics')).status, 200, 'on the operations listener');
  t.is((await api(chain, 'GET', '/readyz')).status, 200);
});
