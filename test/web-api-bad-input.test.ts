import test from 'ava';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { readdir } from 'node:fs/promises';
import { connect } from 'node:net';
import { api, makeTokens } from './helpers/api.js';
import { startChain, waitFor, type Chain } from './helpers/chain.js';

const MAX_JSON = 4096;
const MAX_UPLOAD = 1_000_000;

async function setup(t: Parameters<typeof startChain>[0]) {
  const chain = await startChain(t, { webHttp: { maxJsonBytes: MAX_JSON, maxUploadBytes: MAX_UPLOAD } });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('vendor.create', { name: 'Rival Inc' });
  await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  await chain.call('product.create', { vendor: 'Rival Inc', code: 'rival-db', name: 'Rival DB' });
  await chain.call('release.create', { product: 'acme-db', version: '1.0.0' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  return { chain, tokens: await makeTokens(chain) };
}

/** A PUT on a raw socket: headers, then the chunks (as far as the server takes them); resolves with all the server said. */
function rawPut(port: number, url: string, token: string, headers: string, chunks: Buffer[]): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    const socket = connect(port, '127.0.0.1', async () => {
      socket.write(`PUT ${url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n${headers}\r\n`);
      for (const chunk of chunks) {
        if (socket.destroyed || text !== '') break;
        await new Promise((r) => socket.write(chunk, r));
      }
    });
    socket.on('error', () => {});
    socket.on('data', (d) => {
      text += d.toString();
      if (text.includes('}')) socket.destroy();
    });
    socket.on('close', () => resolve(text));
  });
}

/** Uploads the web host has relayed to a file host so far, whatever their outcome (its metrics). */
async function ingestsSettled(chain: Chain): Promise<number> {
  const text = await chain.web.metrics.text();
  let n = 0;
  for (const m of text.matchAll(/^ffs_web_commlink_request_duration_seconds_count\{peer="file-host",op="ingest",[^}]*\} (\d+)$/gm)) n += Number(m[1]);
  return n;
}

/** What must not change when a request is refused. */
async function snapshot(chain: Chain) {
  return {
    customers: await chain.call('customer.list'),
    products: await chain.call('product.list'),
    releases: await chain.call('release.list', { product: 'acme-db' }),
    objects: chain.fileHost.repo.digests.size,
  };
}

test('malformed JSON, wrong types, unknown fields, wrong media type: 4xx naming the problem, nothing changed', async (t) => {
  const { chain, tokens } = await setup(t);
  const before = await snapshot(chain);
  const post = (body: string, type = 'application/json') =>
    api(chain, 'POST', '/api/v1/customers', { token: tokens.admin, body, headers: { 'content-type': type } });
  const cases: [string, Awaited<ReturnType<typeof post>>, number, string, string?][] = [
    ['malformed JSON', await post('{"login": "a1", "name": '), 400, 'ERR_MALFORMED_BODY'],
    ['JSON array', await post('[1,2]'), 400, 'ERR_INVALID_INPUT', 'body'],
    ['bad UTF-8', await post(Buffer.from([0x7b, 0xff, 0x7d]).toString('latin1')), 400, 'ERR_MALFORMED_BODY'],
    ['wrong type', await post(JSON.stringify({ login: 42, name: 'x' })), 400, 'ERR_INVALID_INPUT', 'body.login'],
    ['unknown field', await post(JSON.stringify({ login: 'initech', name: 'Initech', colour: 'red' })), 400, 'ERR_INVALID_INPUT', 'body.colour'],
    ['missing field', await post(JSON.stringify({ login: 'initech' })), 400, 'ERR_INVALID_INPUT', 'body.name'],
    ['short password', await post(JSON.stringify({ login: 'initech', name: 'Initech', password: 'short' })), 400, 'ERR_INVALID_INPUT', 'body.password'],
    ['form instead of JSON', await post('login=initech&name=Initech', 'application/x-www-form-urlencoded'), 415, 'ERR_UNSUPPORTED_MEDIA_TYPE'],
    ['oversize body', await post(JSON.stringify({ login: 'initech', name: 'x'.repeat(MAX_JSON) })), 413, 'ERR_BODY_TOO_LARGE'],
  ];
  for (const [name, res, status, code, field] of cases) {
    t.is(res.status, status, name);
    t.is((res.body.error as { code: string }).code, code, name);
    if (field) t.is((res.body.error as { field?: string }).field, field, name);
    t.truthy(res.body.requestId, name);
    t.regex(res.headers.get('content-type') ?? '', /application\/json/, name);
  }
  // A field the internal-db refuses comes back 4xx with its field named too.
  const grant = await api(chain, 'POST', '/api/v1/customers/globex/entitlements', { token: tokens.admin, json: { product: 'acme-db', range: 'not a range' } });
  t.is(grant.status, 400);
  t.is((grant.body.error as { field: string }).field, 'range');
  t.deepEqual(await snapshot(chain), before);
});

test('query and path parameters are validated: unknown, repeated and malformed ones are refused', async (t) => {
  const { chain, tokens } = await setup(t);
  const get = (path: string, token = tokens.customer) => api(chain, 'GET', path, { token });
  const cases: [string, number, string][] = [
    ['/api/v1/downloads?colour=red', 400, 'query.colour'],
    ['/api/v1/downloads?product=acme-db&product=acme-db', 400, 'product'],
    ['/api/v1/downloads?product=ACME%20DB', 400, 'query.product'],
    ['/api/v1/artifacts/abc/link', 400, 'path.id'],
    ['/api/v1/artifacts/0/link', 400, 'path.id'],
    ['/api/v1/upgrade?product=acme-db', 400, 'query.current'],
    ['/api/v1/upgrade?product=acme-db&current=latest', 400, 'query.current'],
  ];
  for (const [path, status, field] of cases) {
    const res = await get(path);
    t.is(res.status, status, path);
    t.is((res.body.error as { field: string }).field, field, path);
  }
  const audit = await get('/api/v1/audit?limit=100000', tokens.admin);
  t.is(audit.status, 400);
});

test('missing, malformed, forged and revoked tokens are 401; the wrong role or another vendor is 403', async (t) => {
  const { chain, tokens } = await setup(t);
  const before = await snapshot(chain);
  const none = await api(chain, 'GET', '/api/v1/customers');
  t.is(none.status, 401);
  t.is((none.body.error as { code: string }).code, 'ERR_UNAUTHENTICATED');
  t.regex(none.headers.get('www-authenticate') ?? '', /^Bearer/);
  t.is((await api(chain, 'GET', '/api/v1/customers', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } })).status, 401);
  t.is((await api(chain, 'GET', '/api/v1/customers', { token: randomBytes(32).toString('base64url') })).status, 401, 'forged');
  t.is((await api(chain, 'GET', '/api/v1/customers', { token: `${tokens.admin.slice(0, -2)}xx` })).status, 401, 'tampered');
  const roles: [string, string, string, unknown?][] = [
    ['GET', '/api/v1/customers', tokens.customer],
    ['GET', '/api/v1/customers', tokens.vendor],
    ['POST', '/api/v1/tokens', tokens.vendor, { kind: 'admin' }],
    ['GET', '/api/v1/downloads', tokens.vendor],
    ['GET', '/api/v1/downloads', tokens.admin],
    ['POST', '/api/v1/products', tokens.customer, { code: 'x', name: 'X' }],
    ['POST', '/api/v1/products', tokens.vendor, { code: 'x', name: 'X', vendor: 'Rival Inc' }],
    ['POST', '/api/v1/products/rival-db/releases', tokens.vendor, { version: '1.0.0' }],
    ['POST', '/api/v1/products/acme-db/releases/1.0.0/publish', tokens.customer],
  ];
  for (const [method, path, token, json] of roles) {
    const res = await api(chain, method, path, { token, ...(json === undefined ? {} : { json }) });
    t.is(res.status, 403, `${method} ${path}`);
    t.is((res.body.error as { code: string }).code, 'ERR_FORBIDDEN', `${method} ${path}`);
  }
  // Revoked: refused at the next request (this chain checks every token; apiTokenCacheSeconds 0).
  const listed = (await chain.call('token.list')).tokens as { id: number; ownerKind: string }[];
  const vendorTokenId = listed.find((x) => x.ownerKind === 'vendor')!.id;
  t.is((await api(chain, 'DELETE', `/api/v1/tokens/${vendorTokenId}`, { token: tokens.admin })).status, 200);
  t.is((await api(chain, 'GET', '/api/v1/products', { token: tokens.vendor })).status, 401);
  t.deepEqual(await snapshot(chain), before);
});

test('uploads: over the limit (declared or not), cut off, wrong checksum, not a draft: refused and nothing stored', async (t) => {
  const { chain, tokens } = await setup(t);
  const before = await snapshot(chain);
  const url = '/api/v1/products/acme-db/releases/1.0.0/artifacts/a.bin';
  // Declared too large: refused before the body is read (with Expect: 100-continue, before it is sent).
  const port = chain.web.httpAddress!.port;
  for (const expect of ['', 'Expect: 100-continue\r\n']) {
    const reply = await rawPut(port, url, tokens.vendor, `Content-Length: ${MAX_UPLOAD + 1}\r\n${expect}`, []);
    t.regex(reply, /^HTTP\/1\.1 413/, expect || 'no Expect');
    t.regex(reply, /ERR_BODY_TOO_LARGE/);
    t.notRegex(reply, /100 Continue/);
  }
  // Undeclared length (chunked): cut at the limit, answered 413.
  const chunked = await rawPut(
    port,
    url,
    tokens.vendor,
    'Transfer-Encoding: chunked\r\n',
    Array.from({ length: 20 }, () => Buffer.concat([Buffer.from('186a0\r\n'), randomBytes(100_000), Buffer.from('\r\n')])),
  );
  t.regex(chunked, /^HTTP\/1\.1 413/);
  const mismatch = await api(chain, 'PUT', url, { token: tokens.vendor, body: randomBytes(1000), headers: { 'x-checksum-sha256': 'a'.repeat(64) } });
  t.is(mismatch.status, 422);
  t.is((mismatch.body.error as { code: string }).code, 'ERR_OBJECT_MISMATCH');
  t.is((await api(chain, 'PUT', url, { token: tokens.vendor, body: randomBytes(10), headers: { 'x-checksum-sha256': 'nothex' } })).status, 400);
  t.is((await api(chain, 'PUT', url, { token: tokens.vendor })).status, 400, 'no body');
  t.is((await api(chain, 'PUT', '/api/v1/products/acme-db/releases/9.9.9/artifacts/a.bin', { token: tokens.vendor, body: randomBytes(10) })).status, 404);
  t.is((await api(chain, 'PUT', '/api/v1/products/acme-db/releases/1.0.0/artifacts/a%5Cb', { token: tokens.vendor, body: randomBytes(10) })).status, 400);
  // Cut off: the client declares 500 kB, sends 100 kB and goes away once the upload is on its way
  // to the file host (its temp file exists); then the relay ends and the temp file goes.
  const relaysBefore = await ingestsSettled(chain);
  const socket = connect(port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(`PUT ${url} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.vendor}\r\nContent-Length: 500000\r\n\r\n`);
  socket.write(randomBytes(100_000));
  const partials = () => readdir(chain.fileHost.repo.tmpDir);
  await waitFor(async () => (await partials()).length > 0, 5000, 'the upload to reach the file host');
  socket.destroy();
  await waitFor(
    async () => (await ingestsSettled(chain)) > relaysBefore && (await partials()).length === 0,
    5000,
    'the relay to end and the file host to drop the partial upload',
  );
  t.deepEqual(await snapshot(chain), before, 'nothing stored, nothing recorded');
  // Once published, a release takes no more files.
  t.is((await api(chain, 'PUT', url, { token: tokens.vendor, body: randomBytes(100) })).status, 201);
  t.is((await api(chain, 'POST', '/api/v1/products/acme-db/releases/1.0.0/publish', { token: tokens.vendor })).status, 200);
  const late = await api(chain, 'PUT', '/api/v1/products/acme-db/releases/1.0.0/artifacts/b.bin', { token: tokens.vendor, body: randomBytes(100) });
  t.is(late.status, 409);
  t.is((late.body.error as { code: string }).code, 'ERR_STATE');
});

test('unknown paths are 404 and a known path with another method is 405 with Allow', async (t) => {
  const { chain, tokens } = await setup(t);
  const missing = await api(chain, 'GET', '/api/v1/nothing-here', { token: tokens.admin });
  t.is(missing.status, 404);
  t.is((missing.body.error as { code: string }).code, 'ERR_ROUTE_NOT_FOUND');
  const wrong = await api(chain, 'DELETE', '/api/v1/downloads', { token: tokens.customer });
  t.is(wrong.status, 405);
  t.is((wrong.body.error as { code: string }).code, 'ERR_METHOD_NOT_ALLOWED');
  t.regex(wrong.headers.get('allow') ?? '', /GET/);
  // Garbage on the socket is a 400, and the server serves on.
  const reply = await new Promise<string>((resolve) => {
    const socket = connect(chain.web.httpAddress!.port, '127.0.0.1', () => socket.write('NONSENSE\x00\x01 / HTTP/9\r\n\r\n'));
    let text = '';
    socket.on('data', (d) => (text += d.toString()));
    socket.on('close', () => resolve(text));
  });
  t.regex(reply, /^HTTP\/1\.1 400/);
  t.is((await api(chain, 'GET', '/healthz')).status, 200);
});
