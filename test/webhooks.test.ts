import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import test, { type ExecutionContext } from 'ava';
import { retryDelayMs } from '../services/web/webhooks/backoff.js';
import { sendAttempt } from '../services/web/webhooks/send.js';
import { signatureHeader, signatureProblem } from '../services/web/webhooks/signature.js';
import { checkTarget, isForbiddenAddress, TargetRefused } from '../services/web/webhooks/target.js';
import type { WebService } from '../services/web/service.js';
import { apiAt } from './helpers/api.js';
import { startInternalDb, type DbFixture } from './helpers/internal-db.js';
import { waitFor } from './helpers/wait.js';
import { recordChange, startReceiver, startWebHost, type Receiver } from './helpers/webhooks.js';

interface Endpoint {
  id: number;
  secret: string;
  enabled: boolean;
  disabledReason: string | null;
  cursor: number;
  events: string[];
}

/** An internal-db with vendors acme (acme-db) and beta (beta-app), customers globex (entitled to acme-db) and initech, and tokens. */
async function setup(t: ExecutionContext) {
  const db = await startInternalDb(t);
  await db.call('vendor.create', { name: 'acme' });
  await db.call('vendor.create', { name: 'beta' });
  await db.call('product.create', { vendor: 'acme', code: 'acme-db', name: 'Acme DB' });
  await db.call('product.create', { vendor: 'beta', code: 'beta-app', name: 'Beta App' });
  await db.call('customer.create', { login: 'globex', name: 'Globex' });
  await db.call('customer.create', { login: 'initech', name: 'Initech' });
  const granted = await db.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const token = async (kind: string, owner?: string) => (await db.call('token.create', owner === undefined ? { kind } : { kind, owner })).token as string;
  const tokens = {
    admin: await token('admin'),
    acme: await token('vendor', 'acme'),
    beta: await token('vendor', 'beta'),
    globex: await token('customer', 'globex'),
  };
  return { db, tokens, entitlementId: granted.id as number };
}

const dbOf = (db: DbFixture) => ({ port: db.service.address!.port, bag: db.bag });

async function register(web: WebService, token: string, url: string, events: string[]): Promise<Endpoint> {
  const res = await apiAt(web.httpUrl, 'POST', '/api/v1/webhooks', { token, json: { url, events } });
  if (res.status !== 201) throw new Error(`registration answered ${res.status}: ${res.text}`);
  return res.body as unknown as Endpoint;
}

async function endpoint(web: WebService, token: string, id: number): Promise<Endpoint> {
  return (await apiAt(web.httpUrl, 'GET', `/api/v1/webhooks/${id}`, { token })).body as unknown as Endpoint;
}

const ids = (r: Receiver) => r.received.map((x) => Number(x.id));

test('a delivery is signed (t=…,v1=HMAC-SHA-256 of "t.body" with the secret): it verifies, and fails with another secret or an altered body', async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db));
  const receiver = await startReceiver(t);
  const hook = await register(web, tokens.admin, receiver.url, ['release.published']);
  t.regex(hook.secret, /^whsec_[A-Za-z0-9_-]{43}$/);
  t.false('secret' in (await endpoint(web, tokens.admin, hook.id)), 'the secret is shown once');
  const seq = recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: '1.0.0' });
  await waitFor(() => receiver.received.length >= 1, 10_000, 'a delivery');
  const [got] = receiver.received;
  t.is(got!.headers['content-type'], 'application/json');
  t.is(got!.headers['x-ffs-event'], 'release.published');
  t.is(got!.headers['x-ffs-delivery'], String(seq));
  t.regex(String(got!.headers['user-agent']), /^ffs-webhooks\//);
  const body = JSON.parse(got!.body) as Record<string, unknown>;
  t.deepEqual(Object.keys(body).sort(), ['createdAt', 'data', 'id', 'type']);
  t.is(body.id, String(seq));
  t.is(body.type, 'release.published');
  t.deepEqual(body.data, { vendor: 'acme', product: 'acme-db', version: '1.0.0' }, 'the subject, never who made the change');
  const header = String(got!.headers['x-ffs-signature']);
  t.regex(header, /^t=\d+,v1=[0-9a-f]{64}$/);
  t.is(signatureProblem(hook.secret, header, got!.body), undefined, 'verifies with the secret');
  t.is(signatureProblem(`${hook.secret}x`, header, got!.body), 'signature mismatch', 'another secret fails');
  t.is(signatureProblem(hook.secret, header, got!.body.replace('1.0.0', '1.0.1')), 'signature mismatch', 'an altered body fails');
  t.is(signatureProblem(hook.secret, header, got!.body, 300, Date.now() + 3_600_000), 'timestamp outside the tolerance', 'an old one is a replay');
  t.is(signatureHeader('k', 1, 'b'), `t=1,v1=${createHmac('sha256', 'k').update('1.b').digest('hex')}`, 'HMAC-SHA-256 of "t.body"');
});

test("events are filtered by kind and by owner: a vendor gets its products' only, a customer its own and the releases it is entitled to, an admin all; in order", async (t) => {
  const { db, tokens, entitlementId } = await setup(t);
  const web = await startWebHost(t, dbOf(db));
  const receivers = { acme: await startReceiver(t), beta: await startReceiver(t), globex: await startReceiver(t), admin: await startReceiver(t) };
  const hooks = {
    acme: await register(web, tokens.acme, receivers.acme.url, ['release.published']),
    beta: await register(web, tokens.beta, receivers.beta.url, ['release.published', 'release.yanked']),
    globex: await register(web, tokens.globex, receivers.globex.url, ['release.published', 'entitlement.granted', 'download.completed']),
    admin: await register(web, tokens.admin, receivers.admin.url, [
      'release.published',
      'release.yanked',
      'entitlement.granted',
      'entitlement.revoked',
      'entitlement.expiring',
      'download.completed',
    ]),
  };
  const s1 = recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: '1.0.0' });
  const s2 = recordChange(db, 'release.yanked', { vendor: 'acme', product: 'acme-db', version: '0.9.0' });
  const s3 = recordChange(db, 'release.published', { vendor: 'beta', product: 'beta-app', version: '2.0.0' });
  const s4 = recordChange(db, 'entitlement.granted', { customer: 'globex', product: 'acme-db', entitlementId });
  const s5 = recordChange(db, 'download.completed', { customer: 'globex', vendor: 'acme', product: 'acme-db', version: '1.0.0', protocol: 'http', bytes: 10 });
  recordChange(db, 'customer.disabled', { customer: 'globex' });
  const s7 = recordChange(db, 'download.completed', { customer: 'initech', vendor: 'acme', product: 'acme-db', version: '1.0.0', protocol: 'ftp', bytes: 5 });
  const s8 = recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: '1.1.0' });
  const expected = { acme: [s1, s8], beta: [s3], globex: [s1, s4, s5, s8], admin: [s1, s2, s3, s4, s5, s7, s8] };
  // Every endpoint's cursor passes the last change: nothing more is coming.
  await waitFor(
    async () => {
      for (const [who, hook] of Object.entries(hooks)) {
        if ((await endpoint(web, tokens[who as keyof typeof tokens], hook.id)).cursor < s8) return false;
      }
      return true;
    },
    15_000,
    () => `every cursor at ${s8}: ${JSON.stringify(Object.fromEntries(Object.entries(receivers).map(([k, r]) => [k, ids(r)])))}`,
  );
  for (const who of Object.keys(expected) as (keyof typeof expected)[]) t.deepEqual(ids(receivers[who]), expected[who], who);
  t.is(JSON.parse(receivers.globex.received[2]!.body).data.protocol, 'http');
});

test('a receiver that answers 500 twice then 200 gets the same id three times, then the next ones in order; every attempt is logged', async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db));
  const receiver = await startReceiver(t, (_r, n) => (n <= 2 ? 500 : 200));
  const hook = await register(web, tokens.acme, receiver.url, ['release.published']);
  const seqs = [1, 2, 3].map((i) => recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: `1.${i}.0` }));
  await waitFor(
    () => receiver.received.length >= 5,
    15_000,
    () => `five deliveries: ${JSON.stringify(ids(receiver))}`,
  );
  t.deepEqual(ids(receiver), [seqs[0], seqs[0], seqs[0], seqs[1], seqs[2]]);
  t.is(new Set(receiver.received.slice(0, 3).map((r) => r.body)).size, 1, 'the same body each time');
  await waitFor(async () => (await endpoint(web, tokens.acme, hook.id)).cursor === seqs[2], 10_000, 'the cursor at the last');
  const log = await apiAt(web.httpUrl, 'GET', `/api/v1/webhooks/${hook.id}/deliveries?limit=2`, { token: tokens.acme });
  t.is(log.status, 200);
  const first = log.body.deliveries as { seq: number; attempt: number; outcome: string; status: number | null }[];
  t.is(first.length, 2);
  const rest = await apiAt(web.httpUrl, 'GET', `/api/v1/webhooks/${hook.id}/deliveries?cursor=${String(log.body.next)}`, { token: tokens.acme });
  const all = [...first, ...(rest.body.deliveries as typeof first)].reverse();
  t.deepEqual(
    all.map((d) => [d.seq, d.attempt, d.outcome, d.status]),
    [
      [seqs[0], 1, 'failed', 500],
      [seqs[0], 2, 'failed', 500],
      [seqs[0], 3, 'delivered', 200],
      [seqs[1], 1, 'delivered', 200],
      [seqs[2], 1, 'delivered', 200],
    ],
  );
});

test('an endpoint failing past the give-up time is disabled; its owner reads why, enables it, and gets what it missed', async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db), { giveUpSeconds: 1 });
  let answer = 503;
  const receiver = await startReceiver(t, () => answer);
  const hook = await register(web, tokens.beta, receiver.url, ['release.yanked']);
  const seq = recordChange(db, 'release.yanked', { vendor: 'beta', product: 'beta-app', version: '2.0.0' });
  await waitFor(async () => !(await endpoint(web, tokens.beta, hook.id)).enabled, 15_000, 'the endpoint to be disabled');
  const disabled = await endpoint(web, tokens.beta, hook.id);
  t.regex(disabled.disabledReason ?? '', /HTTP 503/);
  t.true(receiver.received.length >= 2, 'retried before giving up');
  t.true(receiver.received.every((r) => r.id === String(seq)));
  answer = 200;
  const before = receiver.received.length;
  const enabled = await apiAt(web.httpUrl, 'POST', `/api/v1/webhooks/${hook.id}/enable`, { token: tokens.beta });
  t.is(enabled.status, 200);
  t.true(enabled.body.enabled);
  t.is(enabled.body.disabledReason, null);
  await waitFor(() => receiver.received.length > before, 10_000, 'the missed event after enabling');
  t.is(receiver.received.at(-1)!.id, String(seq));
  await waitFor(async () => (await endpoint(web, tokens.beta, hook.id)).cursor === seq, 10_000, 'the cursor past it');
});

test("owners see and change only their own endpoints (another's is 404); an admin sees every one", async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db), { deliver: false });
  const acme = await register(web, tokens.acme, 'http://127.0.0.1:9/acme', ['release.published']);
  const globex = await register(web, tokens.globex, 'http://127.0.0.1:9/globex', ['download.completed']);
  for (const [method, path] of [
    ['GET', `/api/v1/webhooks/${acme.id}`],
    ['DELETE', `/api/v1/webhooks/${acme.id}`],
    ['GET', `/api/v1/webhooks/${acme.id}/deliveries`],
    ['POST', `/api/v1/webhooks/${acme.id}/enable`],
  ] as const) {
    t.is((await apiAt(web.httpUrl, method, path, { token: tokens.beta })).status, 404, `${method} ${path} by another vendor`);
    t.is((await apiAt(web.httpUrl, method, path, { token: tokens.globex })).status, 404, `${method} ${path} by a customer`);
  }
  const list = async (token: string) => ((await apiAt(web.httpUrl, 'GET', '/api/v1/webhooks', { token })).body.webhooks as { id: number }[]).map((w) => w.id);
  t.deepEqual(await list(tokens.acme), [acme.id]);
  t.deepEqual(await list(tokens.beta), []);
  t.deepEqual(await list(tokens.globex), [globex.id]);
  t.deepEqual(await list(tokens.admin), [acme.id, globex.id]);
  t.is((await apiAt(web.httpUrl, 'DELETE', `/api/v1/webhooks/${acme.id}`, { token: tokens.acme })).status, 200);
  t.is((await apiAt(web.httpUrl, 'GET', `/api/v1/webhooks/${acme.id}`, { token: tokens.admin })).status, 404);
  const bad = [
    { url: 'https://user:pw@hooks.example.com/x', events: ['release.published'] },
    { url: `https://hooks.example.com/${'a'.repeat(2048)}`, events: ['release.published'] },
    { url: 'ftp://hooks.example.com/x', events: ['release.published'] },
    { url: 'https://hooks.example.com/x', events: ['customer.disabled'] },
    { url: 'https://hooks.example.com/x', events: [] },
    { url: 'https://hooks.example.com/x', events: ['release.published', 'release.published'] },
  ];
  for (const json of bad)
    t.is((await apiAt(web.httpUrl, 'POST', '/api/v1/webhooks', { token: tokens.acme, json })).status, 400, JSON.stringify(json).slice(0, 80));
});

test('SSRF: registration to loopback, private, link-local or a name resolving to loopback is refused unless allowed; http only where allowed', async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db), { allowPrivateTargets: false, deliver: false });
  for (const url of [
    'http://127.0.0.1:9/x',
    'http://10.1.2.3/x',
    'http://169.254.169.254/latest/meta-data',
    'http://[::1]:8080/x',
    'http://[::ffff:127.0.0.1]/x',
    'http://[fd00::1]/x',
    'http://100.64.0.1/x',
    'http://0.0.0.0/x',
    'http://localhost:1234/x',
  ]) {
    const res = await apiAt(web.httpUrl, 'POST', '/api/v1/webhooks', { token: tokens.admin, json: { url, events: ['release.published'] } });
    t.is(res.status, 400, url);
    t.regex(res.text, /range|resolves/, url);
  }
  const https = await startWebHost(t, dbOf(db), { allowHttp: false, deliver: false });
  const plain = await apiAt(https.httpUrl, 'POST', '/api/v1/webhooks', {
    token: tokens.admin,
    json: { url: 'http://127.0.0.1:9/x', events: ['release.published'] },
  });
  t.is(plain.status, 400);
  t.regex(plain.text, /http:\/\/ targets are not allowed/);
});

test('SSRF: a delivery to a target that is no longer allowed is refused at delivery (checked every time), and logged', async (t) => {
  const { db, tokens } = await setup(t);
  const receiver = await startReceiver(t);
  // Registered where loopback is allowed, delivered by a web host where it is not.
  const registrar = await startWebHost(t, dbOf(db), { deliver: false });
  const hook = await register(registrar, tokens.admin, receiver.url, ['release.published']);
  const web = await startWebHost(t, dbOf(db), { allowPrivateTargets: false });
  const seq = recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: '1.0.0' });
  await waitFor(
    async () => ((await apiAt(web.httpUrl, 'GET', `/api/v1/webhooks/${hook.id}/deliveries`, { token: tokens.admin })).body.deliveries as unknown[]).length >= 2,
    10_000,
    'refused attempts logged',
  );
  const log = (await apiAt(web.httpUrl, 'GET', `/api/v1/webhooks/${hook.id}/deliveries`, { token: tokens.admin })).body.deliveries as {
    seq: number;
    error: string;
    status: null;
  }[];
  t.is(log[0]!.seq, seq);
  t.is(log[0]!.status, null);
  t.regex(log[0]!.error, /target refused: 127\.0\.0\.1 is in a loopback/);
  t.is(receiver.received.length, 0, 'nothing reached the target');
});

test('SSRF: the address rules, and a name is checked by every address it resolves to (one forbidden refuses it)', async (t) => {
  for (const a of [
    '127.0.0.1',
    '10.0.0.1',
    '172.16.5.4',
    '192.168.1.1',
    '169.254.169.254',
    '100.64.0.1',
    '0.0.0.0',
    '224.0.0.1',
    '::1',
    '::',
    'fe80::1',
    'fc00::1',
    'fd12::1',
    'ff02::1',
    '::ffff:127.0.0.1',
    '::ffff:7f00:1',
    '::ffff:10.0.0.1',
    '64:ff9b::a00:1',
    'not-an-ip',
  ])
    t.true(isForbiddenAddress(a), a);
  for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8', '172.32.0.1', '100.128.0.1']) t.false(isForbiddenAddress(a), a);
  const rules = { allowHttp: true, allowPrivateTargets: false };
  const mixed = async () => [
    { address: '93.184.216.34', family: 4 },
    { address: '10.0.0.5', family: 4 },
  ];
  await t.throwsAsync(checkTarget('https://rebind.example/x', rules, mixed), { instanceOf: TargetRefused, message: /10\.0\.0\.5/ });
  const good = await checkTarget('https://ok.example/x', rules, async () => [{ address: '93.184.216.34', family: 4 }]);
  t.is(good.address, '93.184.216.34', 'the connection is pinned to the checked address');
  await t.throwsAsync(checkTarget('https://nowhere.invalid/x', rules), { instanceOf: TargetRefused, message: /does not resolve/ });
});

test('retry delays double from the minimum, with jitter, up to the cap', (t) => {
  for (let attempt = 1; attempt <= 30; attempt++) {
    const exp = Math.min(60_000, 1000 * 2 ** (attempt - 1));
    t.is(
      retryDelayMs(attempt, 1000, 60_000, () => 0),
      exp / 2,
    );
    t.is(
      retryDelayMs(attempt, 1000, 60_000, () => 1),
      exp,
    );
  }
});

test('two web hosts: one delivers to an endpoint at a time (each id once); closing it hands the endpoint to the other at once', async (t) => {
  const { db, tokens } = await setup(t);
  const a = await startWebHost(t, dbOf(db));
  const b = await startWebHost(t, dbOf(db));
  const receiver = await startReceiver(t);
  const hook = await register(a, tokens.admin, receiver.url, ['release.published']);
  await waitFor(() => a.webhooks!.leased.length + b.webhooks!.leased.length === 1, 10_000, 'one lease');
  const first = a.webhooks!.leased.length === 1 ? a : b;
  const other = first === a ? b : a;
  const seqs: number[] = [];
  for (let i = 0; i < 10; i++) seqs.push(recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: `1.${i}.0` }));
  await waitFor(() => receiver.received.length >= 10, 10_000, 'ten deliveries');
  await first.close(2000);
  for (let i = 10; i < 20; i++) seqs.push(recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: `1.${i}.0` }));
  await waitFor(
    () => receiver.received.length >= 20,
    10_000,
    () => `twenty deliveries: ${JSON.stringify(ids(receiver))}`,
  );
  t.deepEqual(other.webhooks!.leased, [hook.id]);
  t.deepEqual(ids(receiver), seqs, 'each once, in order');
});

test('an endpoint that answers a redirect, or not in time, has failed: the redirect is not followed, the attempt is cut off, both are logged', async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db), { timeoutMs: 1000 });
  const elsewhere = await startReceiver(t);
  const redirecting = await startReceiver(t, (_r, n) => (n === 1 ? 302 : 200));
  const silent = await startReceiver(t, (_r, n) => (n === 1 ? 'hold' : 200));
  const a = await register(web, tokens.admin, redirecting.url, ['release.published']);
  const b = await register(web, tokens.admin, silent.url, ['release.published']);
  const seq = recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: '1.0.0' });
  await waitFor(() => redirecting.received.length >= 2 && silent.received.length >= 2, 15_000, 'a retry at each');
  const log = async (id: number) =>
    ((await apiAt(web.httpUrl, 'GET', `/api/v1/webhooks/${id}/deliveries`, { token: tokens.admin })).body.deliveries as { error: string | null }[]).reverse();
  await waitFor(async () => (await log(a.id)).length >= 2 && (await log(b.id)).length >= 2, 10_000, 'logged');
  t.regex((await log(a.id))[0]!.error ?? '', /redirect \(HTTP 302\) not followed/);
  t.regex((await log(b.id))[0]!.error ?? '', /timed out after 1000 ms/);
  t.is(elsewhere.received.length, 0);
  t.true([redirecting, silent].every((r) => r.received.every((x) => x.id === String(seq))));
});

test('the connection goes to the address that was checked (pinned), whatever the name resolves to later (DNS rebinding)', async (t) => {
  const receiver = await startReceiver(t);
  const port = new URL(receiver.url).port;
  // A name that resolves nowhere but through the check: the request reaches the checked address.
  const target = await checkTarget(`http://rebind.invalid:${port}/hook`, { allowHttp: true, allowPrivateTargets: true }, async () => [
    { address: '127.0.0.1', family: 4 },
  ]);
  const result = await sendAttempt(target, '{}', { 'Content-Type': 'application/json' }, 5000, new AbortController().signal);
  t.true(result.ok, JSON.stringify(result));
  t.is(receiver.received.length, 1);
  t.is(receiver.received[0]!.headers.host, `rebind.invalid:${port}`, 'the Host header keeps the name');
});

test("a disabled owner's endpoints get nothing until it is enabled again, then what it missed; an owner may have 20 endpoints", async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db));
  const receiver = await startReceiver(t);
  const hook = await register(web, tokens.acme, receiver.url, ['release.published']);
  await waitFor(() => web.webhooks!.leased.includes(hook.id), 10_000, 'leased');
  await db.call('vendor.setDisabled', { name: 'acme', disabled: true });
  await waitFor(() => !web.webhooks!.leased.includes(hook.id), 10_000, 'the lease dropped');
  const seq = recordChange(db, 'release.published', { vendor: 'acme', product: 'acme-db', version: '1.0.0' });
  await new Promise((resolve) => setTimeout(resolve, 1000));
  t.is(receiver.received.length, 0, 'nothing while disabled');
  await db.call('vendor.setDisabled', { name: 'acme', disabled: false });
  await waitFor(() => receiver.received.length === 1, 10_000, 'the missed event after enabling');
  t.is(receiver.received[0]!.id, String(seq));
  for (let i = 1; i < 20; i++) await register(web, tokens.globex, `${receiver.url}/${i}`, ['download.completed']);
  await register(web, tokens.globex, `${receiver.url}/20`, ['download.completed']);
  const over = await apiAt(web.httpUrl, 'POST', '/api/v1/webhooks', {
    token: tokens.globex,
    json: { url: `${receiver.url}/21`, events: ['download.completed'] },
  });
  t.is(over.status, 409);
});

test('real changes: publishing and yanking a release, granting and revoking an entitlement deliver their events to whom they concern', async (t) => {
  const { db, tokens } = await setup(t);
  const web = await startWebHost(t, dbOf(db));
  const vendor = await startReceiver(t);
  const customer = await startReceiver(t);
  const kinds = ['release.published', 'release.yanked', 'entitlement.granted', 'entitlement.revoked'];
  await register(web, tokens.acme, vendor.url, kinds);
  await register(web, tokens.globex, customer.url, kinds);
  for (const [product, version] of [
    ['acme-db', '3.0.0'],
    ['beta-app', '1.0.0'],
  ] as const) {
    await db.call('release.create', { product, version });
    await db.call('artifact.add', { product, version, filename: `${product}-${version}.tgz`, size: 1, sha256: 'a'.repeat(64), objectId: 'a'.repeat(64) });
    await db.call('release.publish', { product, version });
  }
  await db.call('release.yank', { product: 'acme-db', version: '3.0.0' });
  const granted = await db.call('entitlement.grant', { customer: 'initech', product: 'acme-db' });
  await db.call('entitlement.revoke', { id: granted.id });
  const types = (r: Receiver) => r.received.map((x) => `${x.type} ${JSON.parse(x.body).data.customer ?? JSON.parse(x.body).data.version}`);
  await waitFor(
    () => vendor.received.length >= 4 && customer.received.length >= 2,
    10_000,
    () => JSON.stringify([types(vendor), types(customer)]),
  );
  await new Promise((resolve) => setTimeout(resolve, 500));
  t.deepEqual(types(vendor), ['release.published 3.0.0', 'release.yanked 3.0.0', 'entitlement.granted initech', 'entitlement.revoked initech']);
  t.deepEqual(types(customer), ['release.published 3.0.0', 'release.yanked 3.0.0'], "globex: acme-db's releases only, not another customer's entitlements");
});

test('an endpoint that answers an endless body: at most 4 KB of it is read, and the attempt ends', async (t) => {
  const server = createServer((req, res) => {
    req.resume();
    res.writeHead(200);
    const chunk = Buffer.alloc(64 * 1024, 120);
    const pump = () => {
      while (res.write(chunk));
    };
    res.on('drain', pump);
    pump();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    server.closeAllConnections();
    server.close();
  });
  const { port } = server.address() as AddressInfo;
  const target = await checkTarget(`http://127.0.0.1:${port}/`, { allowHttp: true, allowPrivateTargets: true });
  const result = await sendAttempt(target, '{}', {}, 5000, new AbortController().signal);
  t.true(result.ok);
  t.true(result.durationMs < 5000);
});
