/**
 * The web host on several processes (services.web.workers = 2): the primary keeps the commlinks,
 * two worker processes share the HTTP port. Real processes, real clients, fresh connections (so
 * the kernel spreads them over both workers).
 */
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { RemoteError } from '../lib/commlink/index.js';
import { CodedError, CommonErrors, isError } from '../lib/errors/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { WebErrors } from '../services/web/errors.js';
import { IpcCalls } from '../services/web/workers/ipc-calls.js';
import { UploadSocket } from '../services/web/workers/upload-socket.js';
import { makeTokens, writeRandomFile } from './helpers/api.js';
import { csrfOf, PASSWORD, PortalClient } from './helpers/browser.js';
import { authChecksSent, publish, startChain, waitFor, type Chain } from './helpers/chain.js';
import { fileHostEnv, startBackbone, startService, tail } from './helpers/processes.js';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/** One request on a connection of its own (agent: false), so that requests spread over the workers. */
function fresh(base: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** The per-worker request counts in the primary's aggregated /metrics. */
async function perWorker(chain: Chain): Promise<Map<string, number>> {
  const text = (await fresh(chain.web.opsUrl, 'GET', '/metrics')).text;
  const counts = new Map<string, number>();
  for (const m of text.matchAll(/^ffs_web_worker_http_requests_total\{worker="(\d+)"\} (\d+)$/gm)) counts.set(m[1]!, Number(m[2]));
  return counts;
}

/** The requests answered on one route (summed over the workers), from the primary's /metrics. */
async function routeCount(chain: Chain, route: string, status: number): Promise<number> {
  const text = (await fresh(chain.web.opsUrl, 'GET', '/metrics')).text;
  let sum = 0;
  for (const m of text.matchAll(/^ffs_web_http_requests_total\{([^}]*)\} (\d+)$/gm)) {
    if (m[1]!.includes(`route="${route}"`) && m[1]!.includes(`status="${status}"`)) sum += Number(m[2]);
  }
  return sum;
}

async function setup(t: ExecutionContext, webHttp: Record<string, unknown> = {}) {
  const chain = await startChain(t, { webHttp: { workers: 2, maxUploadBytes: 256 * 1024 * 1024, ...webHttp } });
  t.is(chain.web.workerPids.length, 2, 'two worker processes');
  await waitFor(async () => (await fresh(chain.web.httpUrl, 'GET', '/readyz')).status === 200, 5000, 'the workers to be ready');
  return chain;
}

test('workers = 2: the API and the portal work on fresh connections, both workers serve, /metrics sums them', async (t) => {
  const chain = await setup(t);
  await publish(chain, '1.0.0', randomBytes(10_000));
  await chain.call('customer.create', { login: 'globex', name: 'Globex Corp', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const tokens = await makeTokens(chain);
  const auth = { authorization: `Bearer ${tokens.customer}` };
  const statuses: number[] = [];
  for (let i = 0; i < 60; i++) statuses.push((await fresh(chain.web.httpUrl, 'GET', '/api/v1/entitlements', auth)).status);
  t.deepEqual(new Set(statuses), new Set([200]));
  const counts = await perWorker(chain);
  t.is(counts.size, 2, `both workers answered: ${JSON.stringify([...counts])}`);
  for (const [worker, n] of counts) t.true(n > 0, `worker ${worker} answered ${n}`);
  t.true((await routeCount(chain, '/api/v1/entitlements', 200)) >= 60, 'request counts summed over the workers');
  // The portal: sign in on one connection, every later page on fresh ones (whichever worker).
  const client = new PortalClient(chain.web.httpUrl);
  const signedIn = await client.signIn('globex', PASSWORD);
  t.is(signedIn.status, 303, signedIn.text.slice(0, 300));
  for (let i = 0; i < 10; i++) t.is((await client.get('/downloads')).status, 200);
  const download = await client.get('/download/1');
  t.is(download.status, 303);
  t.regex(download.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\//, 'a signed link to the file host');
});

test('workers = 2: a token revoked through one request is refused on every later request within 1 s, whichever worker answers', async (t) => {
  const chain = await setup(t, { apiTokenCacheSeconds: 300 });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const tokens = await makeTokens(chain);
  const auth = { authorization: `Bearer ${tokens.customer}` };
  // Warm both workers' token caches.
  for (let i = 0; i < 20; i++) t.is((await fresh(chain.web.httpUrl, 'GET', '/api/v1/entitlements', auth)).status, 200);
  const listed = JSON.parse((await fresh(chain.web.httpUrl, 'GET', '/api/v1/tokens', { authorization: `Bearer ${tokens.admin}` })).text) as {
    tokens: { id: number; ownerKind: string }[];
  };
  const id = listed.tokens.find((x) => x.ownerKind === 'customer')!.id;
  t.is((await fresh(chain.web.httpUrl, 'DELETE', `/api/v1/tokens/${id}`, { authorization: `Bearer ${tokens.admin}` })).status, 200);
  const revokedAt = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  const after: number[] = [];
  for (let i = 0; i < 30; i++) after.push((await fresh(chain.web.httpUrl, 'GET', '/api/v1/entitlements', auth)).status);
  t.deepEqual(new Set(after), new Set([401]), `refused everywhere ${Date.now() - revokedAt} ms after the revocation`);
});

test('workers = 2: read your writes: a grant, its revocation and a token revoked are seen by the very next request, whichever worker answers', async (t) => {
  const chain = await setup(t, { apiTokenCacheSeconds: 300 });
  await publish(chain, '1.0.0', randomBytes(10_000));
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const tokens = await makeTokens(chain);
  const admin = { authorization: `Bearer ${tokens.admin}`, 'content-type': 'application/json' };
  const customer = { authorization: `Bearer ${tokens.customer}` };
  const downloads = async () =>
    (JSON.parse((await fresh(chain.web.httpUrl, 'GET', '/api/v1/downloads', customer)).text) as { artifacts: unknown[] }).artifacts.length;
  const before = await perWorker(chain);
  for (let round = 0; round < 10; round++) {
    // Both workers remember the customer's artifacts (none, then one) before each write.
    for (let i = 0; i < 6; i++) t.is(await downloads(), 0, `round ${round}: nothing before the grant`);
    const granted = await fresh(chain.web.httpUrl, 'POST', '/api/v1/customers/globex/entitlements', admin, JSON.stringify({ product: 'acme-db' }));
    t.is(granted.status, 201, granted.text);
    for (let i = 0; i < 6; i++) t.is(await downloads(), 1, `round ${round}: the grant is seen at once by request ${i}`);
    const id = (JSON.parse(granted.text) as { id: number }).id;
    t.is((await fresh(chain.web.httpUrl, 'DELETE', `/api/v1/customers/globex/entitlements/${id}`, admin)).status, 200);
  }
  const after = await perWorker(chain);
  t.true(
    [...after.keys()].every((w) => after.get(w)! > (before.get(w) ?? 0) + 10),
    `both workers answered: ${JSON.stringify([...after])}`,
  );
  // A token: remembered by both workers, revoked through one, refused by the next request on any.
  const listed = JSON.parse((await fresh(chain.web.httpUrl, 'GET', '/api/v1/tokens', admin)).text) as { tokens: { id: number; ownerKind: string }[] };
  t.is((await fresh(chain.web.httpUrl, 'DELETE', `/api/v1/tokens/${listed.tokens.find((x) => x.ownerKind === 'customer')!.id}`, admin)).status, 200);
  const statuses: number[] = [];
  for (let i = 0; i < 10; i++) statuses.push((await fresh(chain.web.httpUrl, 'GET', '/api/v1/downloads', customer)).status);
  t.deepEqual(new Set(statuses), new Set([401]));
});

/** Objects in the file host's repository (files under it, whatever the layout). */
async function objects(chain: Chain): Promise<number> {
  const entries = await readdir(chain.fileHost.repo.objectsDir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).length;
}

test('workers = 2: a 64 MiB vendor upload through a worker arrives whole (SHA-256 on the file host); an upload cut mid-way leaves no object', async (t) => {
  const chain = await setup(t);
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  await chain.call('release.create', { product: 'acme-db', version: '1.0.0' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const tokens = await makeTokens(chain);
  const dir = await mkdtemp(join(tmpdir(), 'ffs-upload-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const size = 64 * 1024 * 1024 + 4321;
  const file = await writeRandomFile(join(dir, 'big.bin'), size);
  const url = new URL('/api/v1/products/acme-db/releases/1.0.0/artifacts/big.bin', chain.web.httpUrl);
  const before = await objects(chain);
  const stored = await new Promise<Answer>((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'PUT',
        agent: false,
        headers: { authorization: `Bearer ${tokens.vendor}`, 'content-length': String(size), 'x-checksum-sha256': file.sha256 },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    createReadStream(file.path, { highWaterMark: 1024 * 1024 }).pipe(req);
  });
  t.is(stored.status, 201, stored.text);
  t.is((JSON.parse(stored.text) as { sha256: string }).sha256, file.sha256, 'the file host computed the same SHA-256');
  t.is(await objects(chain), before + 1);
  // Cut mid-way: the client goes away after 8 MiB of a declared 64 MiB.
  const socket = connect(chain.web.httpAddress!.port, '127.0.0.1');
  socket.on('error', () => {});
  await once(socket, 'connect');
  socket.write(
    `PUT /api/v1/products/acme-db/releases/1.0.0/artifacts/cut.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${tokens.vendor}\r\nContent-Length: ${size}\r\n\r\n`,
  );
  for (let i = 0; i < 8; i++) await new Promise((r) => socket.write(randomBytes(1024 * 1024), r));
  const tmpDir = chain.fileHost.repo.tmpDir;
  await waitFor(async () => (await readdir(tmpDir)).length > 0, 10_000, 'the cut upload to reach the file host');
  socket.destroy();
  await waitFor(async () => (await readdir(tmpDir)).length === 0, 10_000, 'the file host to drop the partial upload');
  t.is(await objects(chain), before + 1, 'no object of the cut upload');
  const listed = JSON.parse(
    (await fresh(chain.web.httpUrl, 'GET', '/api/v1/products/acme-db/releases/1.0.0', { authorization: `Bearer ${tokens.vendor}` })).text,
  ) as Record<string, unknown>;
  t.false(JSON.stringify(listed).includes('cut.bin'), 'no artifact recorded');
});

test('workers = 2: a worker SIGKILLed mid-run: requests on other connections keep succeeding, a replacement comes up and both serve again', async (t) => {
  const chain = await setup(t);
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const tokens = await makeTokens(chain);
  const auth = { authorization: `Bearer ${tokens.customer}` };
  const [victim, survivor] = chain.web.workerPids as [number, number];
  let stop = false;
  const failures: string[] = [];
  let served = 0;
  const load = (async () => {
    while (!stop) {
      try {
        const answer = await fresh(chain.web.httpUrl, 'GET', '/api/v1/entitlements', auth);
        if (answer.status === 200) served++;
        else failures.push(`status ${answer.status}`);
      } catch (err) {
        // A request accepted by the victim's socket as it died is the one kind that may be lost.
        failures.push(String(err));
      }
    }
  })();
  await waitFor(() => served > 20, 10_000, 'requests to flow');
  process.kill(victim, 'SIGKILL');
  const killedAt = served;
  await waitFor(() => chain.web.workerPids.length === 2 && !chain.web.workerPids.includes(victim), 15_000, 'a replacement worker');
  t.true(chain.web.workerPids.includes(survivor), 'the other worker kept running');
  await waitFor(() => served > killedAt + 50, 15_000, 'requests to go on');
  stop = true;
  await load;
  t.true(failures.length <= 2, `at most the requests in flight on the killed worker failed: ${failures.join('; ')}`);
  // Both serve again: fresh connections reach both pids (per-worker counts both grow).
  const before = await perWorker(chain);
  for (let i = 0; i < 60; i++) t.is((await fresh(chain.web.httpUrl, 'GET', '/api/v1/entitlements', auth)).status, 200);
  const after = await perWorker(chain);
  const grew = [...after].filter(([w, n]) => n > (before.get(w) ?? 0)).map(([w]) => w);
  t.is(grew.length, 2, `both workers answered after the replacement: ${JSON.stringify([...before])} → ${JSON.stringify([...after])}`);
});

test('workers = 2: sign-in limits are per web host, not per worker (N× the attempts are still refused past the per-address limit)', async (t) => {
  const limits = { loginFailuresPerAddress: 4, loginFailuresPerLogin: 100, loginMaxDelayMs: 10, loginWindowSeconds: 600 };
  const chain = await setup(t, limits);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const attacker = new PortalClient(chain.web.httpUrl, '127.0.0.2');
  const csrf = csrfOf((await attacker.get('/signin')).text);
  const before = await authChecksSent(chain);
  const statuses: number[] = [];
  for (let i = 0; i < 2 * limits.loginFailuresPerAddress + 4; i++)
    statuses.push((await attacker.post('/signin', { csrf, login: 'globex', password: `guess ${i}` })).status);
  t.deepEqual(statuses, [...Array<number>(4).fill(422), ...Array<number>(8).fill(429)], 'limited after 4 failures, whichever worker answered');
  t.is((await authChecksSent(chain)) - before, limits.loginFailuresPerAddress, 'only 4 passwords were checked');
  // At once, from another address: still only the limit reaches the password check.
  const burst = new PortalClient(chain.web.httpUrl, '127.0.0.3');
  const csrf2 = csrfOf((await burst.get('/signin')).text);
  const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => burst.post('/signin', { csrf: csrf2, login: 'globex', password: `x ${i}` })));
  t.is(answers.filter((a) => a.status === 422).length, limits.loginFailuresPerAddress);
  t.is(answers.filter((a) => a.status === 429).length, 20 - limits.loginFailuresPerAddress);
  // The customer still gets in from its own address.
  const customer = new PortalClient(chain.web.httpUrl, '127.0.0.4');
  t.is((await customer.signIn('globex', PASSWORD)).status, 303);
});

test('workers = 2: closing: /readyz answers 503 at once while a request in progress finishes', async (t) => {
  const chain = await setup(t);
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  await chain.call('release.create', { product: 'acme-db', version: '1.0.0' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const tokens = await makeTokens(chain);
  // A slow upload in progress (2 MiB now, the rest after the close began).
  const content = randomBytes(4 * 1024 * 1024);
  const sha256 = createHash('sha256').update(content).digest('hex');
  const upload = new Promise<Answer>((resolve, reject) => {
    const req = request(
      new URL('/api/v1/products/acme-db/releases/1.0.0/artifacts/slow.bin', chain.web.httpUrl),
      {
        method: 'PUT',
        agent: false,
        headers: { authorization: `Bearer ${tokens.vendor}`, 'content-length': String(content.length), 'x-checksum-sha256': sha256 },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.write(content.subarray(0, 2 * 1024 * 1024));
    setTimeout(() => req.end(content.subarray(2 * 1024 * 1024)), 1500);
  });
  await waitFor(async () => (await readdir(chain.fileHost.repo.tmpDir)).length > 0, 10_000, 'the upload to reach the file host');
  const closed = chain.web.close(10_000);
  // Health checks on fresh connections while the upload finishes: 503 (or refused once a worker has closed).
  const seen: string[] = [];
  const started = Date.now();
  let settled = false;
  void upload.then(
    () => (settled = true),
    () => (settled = true),
  );
  // Until the upload in progress is answered (at least 1 s, at most 10 s on a loaded machine).
  while (Date.now() - started < 10_000 && !(settled && Date.now() - started > 1000)) {
    seen.push(
      await fresh(chain.web.httpUrl, 'GET', '/readyz').then(
        (a) => String(a.status),
        () => 'refused',
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
  }
  t.false(seen.includes('200'), `never ready once closing: ${seen.join(' ')}`);
  t.true(seen.includes('503'), `503 while the request in progress finishes: ${seen.join(' ')}`);
  const answer = await upload;
  t.is(answer.status, 201, answer.text);
  await closed;
  t.deepEqual(chain.web.workerPids, [], 'the workers exited');
});

/** A PUT of `content` that sends its first half at once and the rest after `pauseMs`. */
function slowPut(url: URL, token: string, content: Buffer, pauseMs: number): Promise<Answer> {
  const sha256 = createHash('sha256').update(content).digest('hex');
  return new Promise<Answer>((resolve, reject) => {
    const req = request(
      url,
      { method: 'PUT', agent: false, headers: { authorization: `Bearer ${token}`, 'content-length': String(content.length), 'x-checksum-sha256': sha256 } },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text }));
      },
    );
    req.on('error', reject);
    req.write(content.subarray(0, content.length / 2));
    setTimeout(() => req.end(content.subarray(content.length / 2)), pauseMs);
  });
}

test('node dist/services/web/main.js with workers = 2: SIGTERM: /readyz 503 while the upload in progress finishes, then exit 0', async (t) => {
  const backbone = await startBackbone(t, { FFS_SERVICES__WEB__WORKERS: '2' });
  const files = startService(t, 'file-host', 'file-host', fileHostEnv(backbone, 29400 + Math.floor(Math.random() * 25) * 20));
  await files.ready();
  await waitFor(
    async () => (await fresh(backbone.webUrl, 'GET', '/readyz')).status === 200,
    20_000,
    () => `the web host to be ready\n${tail(backbone.web)}`,
  );
  t.regex(backbone.web.log(), /"workers":2/);
  await backbone.call('vendor.create', { name: 'Acme Software' });
  await backbone.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  await backbone.call('release.create', { product: 'acme-db', version: '1.0.0' });
  const { token } = (await backbone.call('token.create', { kind: 'vendor', owner: 'Acme Software' })) as { token: string };
  const upload = slowPut(new URL('/api/v1/products/acme-db/releases/1.0.0/artifacts/slow.bin', backbone.webUrl), token, randomBytes(4 * 1024 * 1024), 2000);
  await new Promise((r) => setTimeout(r, 700)); // the first half is on its way
  backbone.web.child.kill('SIGTERM'); // the primary only, as a supervisor does
  const seen: string[] = [];
  const at: number[] = [];
  const started = Date.now();
  let settled = false;
  void upload.then(
    () => (settled = true),
    () => (settled = true),
  );
  // Until the upload in progress is answered (at least 1 s, at most 10 s on a loaded machine).
  while (Date.now() - started < 10_000 && !(settled && Date.now() - started > 1000)) {
    seen.push(
      await fresh(backbone.webUrl, 'GET', '/readyz').then(
        (a) => String(a.status),
        () => 'refused',
      ),
    );
    at.push(Date.now() - started);
    await new Promise((r) => setTimeout(r, 50));
  }
  // The signal is taken when the primary's loop gets to it (late on a loaded machine): a 200 may come
  // before that, within the first second; never one after the first 503.
  const stopped = seen.indexOf('503');
  const log = seen.map((s, i) => `${s}@${at[i]}ms`).join(' ');
  t.false(seen.slice(Math.max(0, stopped)).includes('200'), `never ready once terminating: ${log}`);
  t.true(
    seen.every((s, i) => s !== '200' || at[i]! < 1000),
    `not ready a second after SIGTERM: ${log}`,
  );
  t.true(seen.includes('503'), `503 while the upload finishes: ${seen.join(' ')}`);
  const answer = await upload;
  t.is(answer.status, 201, answer.text);
  t.is(await backbone.web.exited, 0, tail(backbone.web));
  t.false(backbone.web.log().includes('"level":"error"'), tail(backbone.web));
});

test('IPC calls: errors keep their class, code, message and details across the hop; an unanswered call is ERR_GATEWAY_UNAVAILABLE', async (t) => {
  const other: { b?: IpcCalls } = {};
  const a = new IpcCalls(
    'b',
    (m) => (setImmediate(() => other.b!.receive(m)), true),
    () => Promise.reject(new Error('a serves nothing')),
  );
  other.b = new IpcCalls(
    'a',
    (m) => (setImmediate(() => a.receive(m)), true),
    async (method) => {
      if (method === 'web') throw WebErrors.NO_FILE_HOST('no file host is connected', { host: null });
      if (method === 'remote') throw new RemoteError('ERR_NOT_FOUND', 'no customer "x"', { field: 'customer' });
      if (method === 'plain') throw new TypeError('a bug');
      if (method === 'never') return new Promise(() => {});
      return { at: new Date(0), bytes: Buffer.from('ok') };
    },
  );
  const web = await t.throwsAsync(a.call('web', {}, 10_000));
  t.true(isError(web, WebErrors.NO_FILE_HOST));
  t.deepEqual((web as CodedError).details, { host: null });
  const remote = await t.throwsAsync(a.call('remote', {}, 10_000));
  t.true(remote instanceof RemoteError);
  t.is((remote as RemoteError).code, 'ERR_NOT_FOUND');
  t.is(remote!.message, 'no customer "x"');
  const plain = await t.throwsAsync(a.call('plain', {}, 10_000));
  t.false(plain instanceof CodedError, 'an uncatalogued error stays uncatalogued (the edge answers 500)');
  t.true(isError(await t.throwsAsync(a.call('never', {}, 100)), CommonErrors.GATEWAY_UNAVAILABLE));
  t.deepEqual(await a.call('value', {}, 10_000), { at: new Date(0), bytes: Buffer.from('ok') });
  const pending = a.call('never', {}, 0);
  a.fail();
  t.true(isError(await t.throwsAsync(pending), CommonErrors.GATEWAY_UNAVAILABLE), 'the channel closed: pending calls fail');
});

test('the upload socket: a private directory (0700), a connection without the secret is cut, an upload is whole only when the counts agree', async (t) => {
  const uploads = await UploadSocket.open(silentLogger);
  const { path, secret } = uploads.settings;
  t.is((await stat(dirname(path))).mode & 0o777, 0o700);
  const intruder = connect(path);
  intruder.on('error', () => {});
  intruder.write(`1.1 ${'A'.repeat(secret.length)}\n`);
  await once(intruder, 'close');
  t.pass('no secret: cut');
  // Sent 10 bytes, says 11: aborted.
  const short = uploads.expect('1.2');
  const shortDone = new Promise<Error | undefined>((resolve) => {
    short.on('error', resolve);
    short.on('end', () => resolve(undefined));
    short.resume();
  });
  const s1 = connect(path);
  s1.end(`1.2 ${secret}\n0123456789`);
  uploads.end('1.2', 11);
  t.regex(String(await shortDone), /ERR_STREAM_ABORTED|sent 11 bytes, 10 arrived/);
  // Sent 10 bytes, says 10: whole.
  const whole = uploads.expect('1.3');
  const s2 = connect(path);
  s2.end(`1.3 ${secret}\n0123456789`);
  uploads.end('1.3', 10);
  const chunks: Buffer[] = [];
  for await (const chunk of whole) chunks.push(chunk as Buffer);
  t.is(Buffer.concat(chunks).toString(), '0123456789');
  await uploads.close();
  await t.throwsAsync(stat(dirname(path)), undefined, 'the directory is removed at close');
});
