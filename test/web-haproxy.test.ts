/**
 * Two web hosts behind HAProxy (issue 17, "Several hosts behind HAProxy"): one internal-db, web-1
 * and web-2 (trustProxy, each with WEB_WORKERS workers), file-1 dialling web-1 and file-2 dialling
 * web-2, each a process (helpers/feed-cluster.ts), and Debian's haproxy in front of both web hosts
 * with the configuration the project ships (scripts/haproxy/, helpers/haproxy.ts). Customers come
 * from CLIENT, an address of their own, so the address the web hosts see (their access log, the
 * change log) is shown to be the client's and not HAProxy's. Which web host served a request is read
 * from its access log, by the X-Request-Id the client sent.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { haproxyConfig, main as haproxyConfigMain } from '../scripts/haproxy/config.js';
import { csrfOf, PortalClient } from './helpers/browser.js';
import { expectStatus, publishRelease, startFeedCluster, type FeedCluster } from './helpers/feed-cluster.js';
import { findHaproxy, startHaproxy, type Haproxy } from './helpers/haproxy.js';
import { tail, type ServiceProcess, type TeardownScope } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';

const run = promisify(execFile);

const HAPROXY = findHaproxy();
/** Worker processes per web host (services.web.workers). */
const WEB_WORKERS = '2';
/** The customers' source address (on 127.0.0.0/8; HAProxy and the hosts use 127.0.0.1). */
const CLIENT = '127.0.0.2';
const PASSWORD = 'correct horse battery';
/** FTP passive ports: this file's region (31200-31499, used by no other test), 20 for the two file hosts. */
const PASSIVE_MIN = 31_200 + Math.floor(Math.random() * 15) * 20;
/** The change feed's bound (issue 16): a revocation holds on every web host within this. */
const FEED_BOUND_MS = 1000;

const serial = HAPROXY === undefined ? test.skip : test.serial;
if (HAPROXY === undefined) console.warn('web-haproxy: haproxy is not installed (apt-get install haproxy; .ci/run installs it): these tests are skipped');

const teardowns: (() => unknown)[] = [];
const scope: TeardownScope = { teardown: (fn) => void teardowns.push(fn) };

let cluster: FeedCluster;
let haproxy: Haproxy;
let vendor: string;
/** The customer globex's API token, and its one artifact of acme-db 1.0.0 (content, SHA-256). */
let customerToken: string;
let artifactId: number;
let content: Buffer;

const portOf = (url: string) => Number(new URL(url).port);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

if (HAPROXY !== undefined) {
  test.before(async () => {
    cluster = await startFeedCluster(scope, PASSIVE_MIN, { FFS_SERVICES__WEB__TRUST_PROXY: 'true', FFS_SERVICES__WEB__WORKERS: WEB_WORKERS });
    haproxy = await startHaproxy(scope, HAPROXY, [
      { name: 'web-1', host: '127.0.0.1', port: portOf(cluster.webUrl) },
      { name: 'web-2', host: '127.0.0.1', port: portOf(cluster.web2Url) },
    ]);
    await haproxy.waitFor('web-1', 'UP');
    await haproxy.waitFor('web-2', 'UP');
    const { api1, admin } = cluster;
    expectStatus(await api1('POST', '/api/v1/vendors', { token: admin, json: { name: 'Acme Software' } }), 201, 'vendor');
    vendor = expectStatus(await api1('POST', '/api/v1/tokens', { token: admin, json: { kind: 'vendor', owner: 'Acme Software' } }), 201, 'vendor token').body
      .token as string;
    for (const code of ['acme-db', 'rev-db']) {
      expectStatus(await api1('POST', '/api/v1/products', { token: vendor, json: { code, name: code } }), 201, `product ${code}`);
    }
    content = randomBytes(64 * 1024);
    await publishRelease(api1, vendor, 'acme-db', '1.0.0', content);
    await publishRelease(api1, vendor, 'rev-db', '1.0.0', randomBytes(4096));
    expectStatus(await api1('POST', '/api/v1/customers', { token: admin, json: { login: 'globex', name: 'Globex', password: PASSWORD } }), 201, 'customer');
    expectStatus(await api1('POST', '/api/v1/customers/globex/entitlements', { token: admin, json: { product: 'acme-db' } }), 201, 'grant');
    customerToken = expectStatus(await api1('POST', '/api/v1/tokens', { token: admin, json: { kind: 'customer', owner: 'globex' } }), 201, 'token').body
      .token as string;
    const downloads = expectStatus(await api1('GET', '/api/v1/downloads?product=acme-db', { token: customerToken }), 200, 'downloads');
    artifactId = (downloads.body.artifacts as { artifactId: number }[])[0]!.artifactId;
  });

  test.after.always(async () => {
    for (const fn of teardowns.reverse()) await fn();
  });
}

// ---------------------------------------------------------------------------------------------
// Clients through HAProxy, and who served them

interface Answer {
  status: number;
  headers: IncomingHttpHeaders;
  text: string;
  json: Record<string, unknown>;
  /** The X-Request-Id the request carried (the web host logs it). */
  requestId: string;
}

/** One request from CLIENT (through HAProxy unless `base` says otherwise), with an X-Request-Id of its own; no redirect followed. */
function call(
  method: string,
  path: string,
  options: { token?: string; json?: unknown; headers?: Record<string, string>; agent?: Agent; base?: string; timeoutMs?: number } = {},
): Promise<Answer> {
  const requestId = `hx-${randomUUID()}`;
  const headers: Record<string, string> = { 'x-request-id': requestId, ...options.headers };
  if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
  const body = options.json === undefined ? undefined : JSON.stringify(options.json);
  if (body !== undefined) headers['content-type'] = 'application/json';
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, options.base ?? haproxy.url),
      { method, headers, localAddress: CLIENT, agent: options.agent ?? false, timeout: options.timeoutMs ?? 30_000 },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: Record<string, unknown> = {};
          try {
            json = text ? (JSON.parse(text) as Record<string, unknown>) : {};
          } catch {
            // an HTML page or HAProxy's own error page
          }
          resolve({ status: res.statusCode!, headers: res.headers, text, json, requestId });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${options.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** What a web host's access log says of one request. */
interface Served {
  host: 'web-1' | 'web-2';
  ip: string;
  status: number;
}

/** Every request line of both web hosts' logs (and of `formerWeb2`, a web-2 process since replaced), by request id. */
function accessLog(formerWeb2?: ServiceProcess): Map<string, Served> {
  const served = new Map<string, Served>();
  const processes: [Served['host'], ServiceProcess][] = [
    ['web-1', cluster.web1],
    ['web-2', cluster.web2],
    ...(formerWeb2 ? [['web-2', formerWeb2] as [Served['host'], ServiceProcess]] : []),
  ];
  for (const [host, proc] of processes) {
    for (const line of proc.log().split('\n')) {
      if (!line.includes('"msg":"request"') || !line.includes('"requestId":"hx-')) continue;
      // A worker's line may land inside a long line another process of the host was writing to the
      // same pipe (non-blocking writes past PIPE_BUF are split): read from the last record's start.
      let record: { requestId: string; ip: string; status: number };
      try {
        record = JSON.parse(line.slice(line.lastIndexOf('{"level"'))) as typeof record;
      } catch {
        continue;
      }
      served.set(record.requestId, { host, ip: record.ip, status: record.status });
    }
  }
  return served;
}

/**
 * Which web host served each of `answers`: its access-log line is written when the answer is
 * done, and reaches the test through the host's stderr shortly after the answer itself (waited
 * for, at most 5 s; a request no web host logged fails the test).
 */
async function servedBy(answers: readonly Answer[]): Promise<Served[]> {
  let log = accessLog();
  await waitFor(
    () => answers.every((a) => (log = accessLog()).has(a.requestId)),
    5000,
    () =>
      `the web hosts to log ${answers
        .filter((a) => !log.has(a.requestId))
        .map((a) => `${a.requestId} (${a.status})`)
        .join(', ')}`,
  );
  return answers.map((a) => log.get(a.requestId)!);
}

/** The SHA-256 of what a download URL (on a file host) serves; fails unless it is 200. */
async function download(url: string): Promise<string> {
  const res = await fetch(url);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (res.status !== 200) throw new Error(`${url}: ${res.status} ${bytes.toString('utf8').slice(0, 300)}`);
  return createHash('sha256').update(bytes).digest('hex');
}

/** A directory (removed in teardown) holding web.pem: a self-signed certificate for localhost, then its key, as HAProxy takes them. */
async function selfSignedPem(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-haproxy-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const [key, cert] = [join(dir, 'key.pem'), join(dir, 'cert.pem')];
  const subject = ['-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'];
  await run('openssl', [
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-days',
    '1',
    ...subject,
    '-keyout',
    key,
    '-out',
    cert,
  ]);
  await writeFile(join(dir, 'web.pem'), (await readFile(cert, 'utf8')) + (await readFile(key, 'utf8')));
  return dir;
}

// ---------------------------------------------------------------------------------------------
// The configuration the project ships

serial('the shipped configuration: the generator fills the template, haproxy accepts it (plain and with TLS), bad input is refused by name', async (t) => {
  const webHosts = [
    { name: 'web-1', host: '10.0.0.11', port: 8080 },
    { name: 'web-2', host: '10.0.0.12', port: 8080 },
  ];
  const plain = haproxyConfig({ bind: { host: '0.0.0.0', port: 80 }, webHosts });
  t.false(plain.includes('{{'), 'every placeholder filled');
  t.regex(plain, /^ {4}server web-1 10\.0\.0\.11:8080$/m);
  t.regex(plain, /^ {4}server web-2 10\.0\.0\.12:8080$/m);
  t.regex(plain, /^ {4}http-check send meth GET uri \/readyz /m);
  for (const line of ['balance roundrobin', 'option forwardfor', 'http-reuse safe', 'http-request disable-l7-retry unless safe_to_repeat']) {
    t.true(plain.includes(line), line);
  }
  // The command writes what the function gives.
  let printed = '';
  t.is(
    await haproxyConfigMain(['--bind', '0.0.0.0:80', '--web-host', 'web-1=10.0.0.11:8080', '--web-host', 'web-2=10.0.0.12:8080'], {
      stdout: (s) => (printed += s),
    }),
    0,
  );
  t.is(printed, plain.trimEnd() + '\n');

  const dir = await selfSignedPem(t);
  const tls = haproxyConfig({ bind: { host: '0.0.0.0', port: 443 }, webHosts, tlsPemPath: join(dir, 'web.pem'), statsSocket: join(dir, 's.sock') });
  t.regex(tls, /bind 0\.0\.0\.0:443 ssl crt \S+web\.pem alpn h2,http\/1\.1/);
  for (const [name, text] of [
    ['plain', plain.replace('/run/haproxy/admin.sock', join(dir, 'p.sock'))],
    ['tls', tls],
  ] as const) {
    await writeFile(join(dir, `${name}.cfg`), text);
    await t.notThrowsAsync(run(HAPROXY!, ['-c', '-q', '-f', join(dir, `${name}.cfg`)]), `haproxy -c accepts the ${name} configuration`);
  }

  // Each bad field is refused, named.
  const bad = (options: Parameters<typeof haproxyConfig>[0], field: RegExp) => t.throws(() => haproxyConfig(options), { message: field });
  bad({ bind: { host: '0.0.0.0', port: 80 }, webHosts: [] }, /webHosts: at least one/);
  bad({ bind: { host: '0.0.0.0', port: 80 }, webHosts: [{ ...webHosts[0]!, name: 'web 1' }] }, /name: /);
  bad({ bind: { host: '0.0.0.0 ssl', port: 80 }, webHosts }, /bind\.host/);
  bad({ bind: { host: '0.0.0.0', port: 80 }, webHosts: [webHosts[0]!, webHosts[0]!] }, /web-1 is given twice/);
  bad({ bind: { host: '0.0.0.0', port: 80 }, webHosts: [{ ...webHosts[0]!, port: 0 }] }, /port must be 1-65535/);
  let errors = '';
  t.is(await haproxyConfigMain(['--bind', '0.0.0.0:80', '--web-host', 'web-1=10.0.0.11'], { stderr: (s) => (errors += s) }), 1);
  t.regex(errors, /--web-host web-1=10\.0\.0\.11: expected name=host:port/);
});

// ---------------------------------------------------------------------------------------------
// A customer through HAProxy

serial(
  'a customer signed in through HAProxy is served by both web hosts: portal, 303s to the file hosts, the API, a EULA; under its own address',
  async (t) => {
    const client = new PortalClient(haproxy.url, CLIENT);
    const answers: Answer[] = [];
    const id = () => `hx-${randomUUID()}`;
    /** A portal request, remembered with its id for the access log. */
    const portal = async (method: 'GET' | 'POST', path: string, form?: Record<string, string>) => {
      const requestId = id();
      const page =
        method === 'GET'
          ? await client.get(path, { 'x-request-id': requestId })
          : await client.post(path, form!, { 'x-request-id': requestId, origin: haproxy.url, 'sec-fetch-site': 'same-origin' }); // as a browser posts
      answers.push({ status: page.status, headers: {}, text: page.text, json: {}, requestId });
      return page;
    };

    const form = await portal('GET', '/signin');
    const signedIn = await portal('POST', '/signin', { csrf: csrfOf(form.text), login: 'globex', password: PASSWORD });
    t.is(signedIn.status, 303, signedIn.text.slice(0, 300));
    t.is(signedIn.location, '/downloads');
    const sha256 = createHash('sha256').update(content).digest('hex');
    const keepAlive = new Agent({ keepAlive: true });
    t.teardown(() => keepAlive.destroy());
    for (let round = 0; round < 4; round++) {
      const page = await portal('GET', '/downloads');
      t.is(page.status, 200);
      t.true(page.text.includes('acme-db'), 'the downloads page lists acme-db');
      const link = await portal('GET', `/download/${artifactId}`);
      t.is(link.status, 303, link.text.slice(0, 300));
      t.is(await download(link.location!), sha256, 'the portal link serves the file');
      // The API with a token, on one keep-alive connection to HAProxy.
      const list = await call('GET', '/api/v1/downloads', { token: customerToken, agent: keepAlive });
      t.is(list.status, 200, list.text.slice(0, 300));
      t.true((list.json.artifacts as { artifactId: number }[]).some((a) => a.artifactId === artifactId));
      const redirect = await call('GET', `/api/v1/artifacts/${artifactId}/download`, { token: customerToken, agent: keepAlive });
      t.is(redirect.status, 303, redirect.text.slice(0, 300));
      t.is(await download(redirect.headers.location!), sha256, 'the API link serves the file');
      answers.push(list, redirect);
    }

    // A EULA put on acme-db: the next download goes to the EULA, accepted through HAProxy, then downloads work on both hosts.
    const eula = expectStatus(
      await cluster.api1('POST', '/api/v1/eulas', { token: vendor, json: { title: 'Acme licence', body: 'Use it well.' } }),
      201,
      'eula',
    ).body.id as number;
    expectStatus(await cluster.api1('PUT', '/api/v1/products/acme-db/eula', { token: vendor, json: { eula } }), 200, 'eula set');
    const detours: string[] = [];
    await waitFor(
      async () => {
        detours.push((await portal('GET', `/download/${artifactId}`)).location ?? '');
        return detours.slice(-2).every((l) => l.startsWith(`/eula/${eula}`)) && detours.length >= 2;
      },
      3000,
      () => `both web hosts to send the download to the EULA: ${detours.join(' ')}`,
    );
    const eulaPage = await portal('GET', detours.at(-1)!);
    t.is(eulaPage.status, 200);
    const accepted = await portal('POST', `/eula/${eula}/accept`, { csrf: csrfOf(eulaPage.text), next: '/downloads' });
    t.is(accepted.status, 303, accepted.text.slice(0, 300));
    for (let round = 0; round < 4; round++) {
      const link = await portal('GET', `/download/${artifactId}`);
      t.is(link.status, 303);
      t.false(link.location!.startsWith('/eula'), `accepted on one web host, the other knows (round ${round}: ${link.location})`);
      t.is(await download(link.location!), sha256);
    }

    const served = await servedBy(answers);
    const hosts = new Set(served.map((s) => s.host));
    t.deepEqual([...hosts].sort(), ['web-1', 'web-2'], 'both web hosts answered');
    t.deepEqual([...new Set(served.map((s) => s.ip))], [CLIENT], 'every web host saw the client, not HAProxy');
    t.log(`${answers.length} requests: web-1 ${served.filter((s) => s.host === 'web-1').length}, web-2 ${served.filter((s) => s.host === 'web-2').length}`);

    // The change log records the acceptance with the client's address.
    const changes = expectStatus(await cluster.api1('GET', '/api/v1/changes?customer=globex&kind=eula.accepted', { token: cluster.admin }), 200, 'changes');
    const change = (changes.body.changes as { actor: { kind: string; address?: string } }[])[0]!;
    t.deepEqual(change.actor, { kind: 'customer', id: 'globex', address: CLIENT });
    expectStatus(await cluster.api1('PUT', '/api/v1/products/acme-db/eula', { token: vendor, json: { eula: null } }), 200, 'eula removed');
  },
);

serial(
  'a client cannot choose its address: X-Forwarded-For and X-Forwarded-Host it sends are dropped by HAProxy, and the web host believes only the last hop',
  async (t) => {
    const forged = await call('GET', '/api/v1/downloads', {
      token: customerToken,
      headers: { 'x-forwarded-for': '203.0.113.9', 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'https' },
    });
    t.is(forged.status, 200);
    t.is((await servedBy([forged]))[0]!.ip, CLIENT, 'through HAProxy: the address HAProxy saw');
    // Straight to web-1 (trustProxy) from 127.0.0.1 as if it were the proxy: only the last address counts.
    const direct = await call('GET', '/api/v1/downloads', {
      token: customerToken,
      base: cluster.webUrl,
      headers: { 'x-forwarded-for': '203.0.113.9, 127.0.0.3' },
    });
    t.is(direct.status, 200);
    t.is((await servedBy([direct]))[0]!.ip, '127.0.0.3', 'the address the proxy appended, not the one the client claimed');
  },
);

serial(
  'HAProxy ending TLS: HTTP/2 by ALPN to customers, X-Forwarded-Proto https to the web hosts (Secure cookies); over plain HTTP a client claiming https is not believed',
  async (t) => {
    const dir = await selfSignedPem(t);
    const tls = await startHaproxy(
      scope,
      HAPROXY!,
      [
        { name: 'web-1', host: '127.0.0.1', port: portOf(cluster.webUrl) },
        { name: 'web-2', host: '127.0.0.1', port: portOf(cluster.web2Url) },
      ],
      { tlsPemPath: join(dir, 'web.pem') },
    );
    await tls.waitFor('web-1', 'UP');
    await tls.waitFor('web-2', 'UP');
    // A host name that is not loopback: the portal marks its cookies Secure only over HTTPS then.
    const { stdout } = await run('curl', ['-sk', '--http2', '-D', '-', '-o', '/dev/null', '-H', 'Host: portal.example', `${tls.url}/signin`]);
    t.regex(stdout, /^HTTP\/2 200/, 'HTTP/2 over TLS to HAProxy');
    t.regex(stdout, /^set-cookie: [^\r\n]*; secure/im, 'the web host knew the customer came over HTTPS');
    const plain = await call('GET', '/signin', { headers: { host: 'portal.example', 'x-forwarded-proto': 'https' } });
    t.is(plain.status, 200);
    const cookies = ([] as string[]).concat(plain.headers['set-cookie'] ?? []);
    t.true(cookies.length > 0, 'the sign-in page sets its cookie');
    t.false(
      cookies.some((c) => /;\s*secure/i.test(c)),
      `over plain HTTP the claimed X-Forwarded-Proto is replaced by HAProxy's own: ${cookies.join(' | ')}`,
    );
    // The control: straight to web-1 (which trusts its proxy), the same claim makes the cookie Secure.
    const direct = await call('GET', '/signin', { base: cluster.webUrl, headers: { host: 'portal.example', 'x-forwarded-proto': 'https' } });
    t.true(
      ([] as string[]).concat(direct.headers['set-cookie'] ?? []).some((c) => /;\s*secure/i.test(c)),
      'a web host believes its proxy',
    );
    await tls.close();
  },
);

// ---------------------------------------------------------------------------------------------
// Revocations through one web host, effective through HAProxy on both

/**
 * Sends `ask` through HAProxy every 10 ms for FEED_BOUND_MS + 500 ms from `since`; gives each
 * answer with when it was sent (ms after `since`) and who served it.
 */
async function pollAfter(since: number, ask: () => Promise<Answer>): Promise<{ at: number; status: number; host: string }[]> {
  const sent: { at: number; answer: Answer }[] = [];
  while (now() - since < FEED_BOUND_MS + 500) {
    const at = now() - since;
    sent.push({ at, answer: await ask() });
    await sleep(10);
  }
  const served = await servedBy(sent.map((s) => s.answer));
  return sent.map((s, i) => ({ at: s.at, status: s.answer.status, host: served[i]!.host }));
}

/** Asks through HAProxy until each web host has answered `status` (caches warm on both). */
async function warm(status: number, ask: () => Promise<Answer>): Promise<void> {
  const answers: Answer[] = [];
  await waitFor(
    async () => {
      const answer = await ask();
      if (answer.status !== status) return false;
      answers.push(answer);
      return new Set((await servedBy(answers)).map((s) => s.host)).size === 2;
    },
    10_000,
    `both web hosts to answer ${status}`,
  );
}

/** Checks the polls after a revocation: only refusals from FEED_BOUND_MS on, by both web hosts; logs when each host last said yes. */
function checkRevoked(t: ExecutionContext, what: string, polls: { at: number; status: number; host: string }[], refused: number): void {
  for (const host of ['web-1', 'web-2']) {
    const late = polls.filter((p) => p.host === host && p.at >= FEED_BOUND_MS);
    t.true(late.length > 0, `${host} answered after ${FEED_BOUND_MS} ms`);
    t.deepEqual([...new Set(late.map((p) => p.status))], [refused], `${what}: ${host} refuses from ${FEED_BOUND_MS} ms on`);
    const lastYes = polls.filter((p) => p.host === host && p.status !== refused).at(-1);
    t.log(`${what}: ${host} last served it ${lastYes === undefined ? 'never' : `${Math.round(lastYes.at)} ms`} after the change`);
  }
}

serial('a token revoked through one web host is refused through HAProxy by both within 1 s; the change log has the client address', async (t) => {
  const made = expectStatus(await cluster.api1('POST', '/api/v1/tokens', { token: cluster.admin, json: { kind: 'customer', owner: 'globex' } }), 201, 'token');
  const ask = () => call('GET', '/api/v1/downloads', { token: made.body.token as string });
  await warm(200, ask);
  const revoke = await call('DELETE', `/api/v1/tokens/${made.body.id as number}`, { token: cluster.admin });
  const since = now();
  t.is(revoke.status, 200, revoke.text);
  const by = (await servedBy([revoke]))[0]!.host;
  const polls = await pollAfter(since, ask);
  checkRevoked(t, `token revoked through ${by}`, polls, 401);
  t.false(
    polls.some((p) => p.host === by && p.status !== 401),
    `${by}, which revoked it, refuses it from its answer on`,
  );
  const changes = expectStatus(await cluster.api1('GET', '/api/v1/changes?kind=token.revoked', { token: cluster.admin }), 200, 'changes');
  t.is((changes.body.changes as { actor: { address?: string } }[])[0]!.actor.address, CLIENT);
});

serial('an entitlement revoked through web-1 gives no more links through HAProxy, from either web host, within 1 s', async (t) => {
  const granted = expectStatus(
    await cluster.api1('POST', '/api/v1/customers/globex/entitlements', { token: cluster.admin, json: { product: 'rev-db' } }),
    201,
    'grant',
  );
  const list = expectStatus(await cluster.api1('GET', '/api/v1/downloads?product=rev-db', { token: customerToken }), 200, 'downloads');
  const artifact = (list.body.artifacts as { artifactId: number }[])[0]!.artifactId;
  const ask = () => call('GET', `/api/v1/artifacts/${artifact}/download`, { token: customerToken });
  await warm(303, ask);
  expectStatus(await cluster.api1('DELETE', `/api/v1/customers/globex/entitlements/${granted.body.id as number}`, { token: cluster.admin }), 200, 'revoke');
  const polls = await pollAfter(now(), ask);
  checkRevoked(t, 'entitlement revoked through web-1', polls, 403);
});

// ---------------------------------------------------------------------------------------------
// A web host dies, or stops

interface Sent {
  start: number;
  end: number;
  ok: boolean;
  what: string;
}

/**
 * Clients sending through HAProxy without a pause until stopped: the downloads list and the 303,
 * each on a keep-alive connection and on a fresh connection per request. `inFlight` is how many
 * requests are out at this moment.
 */
function traffic(): { sent: Sent[]; inFlight: () => number; stop: () => Promise<void> } {
  const sent: Sent[] = [];
  let inFlight = 0;
  let stopped = false;
  const keepAlive = new Agent({ keepAlive: true, maxSockets: 2 });
  const loop = async (what: 'list' | '303', agent: Agent | undefined) => {
    const path = what === 'list' ? '/api/v1/downloads' : `/api/v1/artifacts/${artifactId}/download`;
    const expected = what === 'list' ? 200 : 303;
    while (!stopped) {
      const start = now();
      inFlight++;
      let ok = false;
      let detail: string;
      try {
        const answer = await call('GET', path, { token: customerToken, ...(agent ? { agent } : {}), timeoutMs: 10_000 });
        ok = answer.status === expected;
        detail = `${answer.status} ${answer.text.slice(0, 200)}`;
      } catch (err) {
        detail = (err as Error).message;
      }
      inFlight--;
      sent.push({ start, end: now(), ok, what: `${what} ${agent ? 'keep-alive' : 'fresh'}: ${detail}` });
    }
  };
  const loops = [loop('list', keepAlive), loop('303', keepAlive), loop('list', undefined), loop('303', undefined)];
  return {
    sent,
    inFlight: () => inFlight,
    stop: async () => {
      stopped = true;
      await Promise.all(loops);
      keepAlive.destroy();
    },
  };
}

serial(
  'web-2 killed mid-run: only requests in flight at the kill may fail; HAProxy takes it out by its health check, and back in once restarted',
  async (t) => {
    const load = traffic();
    await sleep(1000);
    const oldWeb2 = cluster.web2;
    const inFlightAtKill = load.inFlight();
    const killAt = now();
    oldWeb2.signal('SIGKILL');
    await haproxy.waitFor('web-2', 'DOWN', 5000);
    const downMs = now() - killAt;
    await oldWeb2.exited;
    await sleep(1000); // web-1 alone
    await cluster.start('web-2');
    const restartedAt = now();
    await haproxy.waitFor('web-2', 'UP', 10_000);
    const upMs = now() - restartedAt;
    const servedBefore = Number((await haproxy.server('web-2')).stot);
    await sleep(1000);
    await load.stop();
    const servedAfter = Number((await haproxy.server('web-2')).stot);

    const failed = load.sent.filter((s) => !s.ok);
    const backend = (await haproxy.stat()).find((r) => r.pxname === 'web_hosts' && r.svname === 'BACKEND')!;
    t.log(
      `${load.sent.length} requests; ${failed.length} failed (${inFlightAtKill} in flight at the kill); HAProxy retried ${backend.wretr} and ` +
        `redispatched ${backend.wredis}; marked down ${Math.round(downMs)} ms after the kill, up ${Math.round(upMs)} ms after the restart`,
    );
    t.true(load.sent.length > 100, `traffic kept going (${load.sent.length})`);
    t.true(failed.length <= inFlightAtKill, `at most the requests in flight at the kill fail: ${failed.map((f) => f.what).join('; ')}`);
    for (const f of failed) t.true(f.start <= killAt && f.end >= killAt, `a failure not in flight at the kill: ${f.what}`);
    t.true(downMs < 3000, `HAProxy took web-2 out ${Math.round(downMs)} ms after its death`);
    t.true(servedAfter > servedBefore, `web-2 serves again once back (${servedBefore} → ${servedAfter} requests)`);
  },
);

serial('a request sent to a web host that then dies: a GET is repeated on the other, a POST is not (502: it may have been carried out)', async (t) => {
  const oldWeb2 = cluster.web2;
  // Frozen, web-2 still accepts connections (the kernel completes them) and takes requests, but
  // answers none: each request sent to it is in flight there until it is killed.
  oldWeb2.signal('SIGSTOP');
  const gets = Array.from({ length: 6 }, () => call('GET', '/api/v1/downloads', { token: customerToken, timeoutMs: 20_000 }));
  const posts = Array.from({ length: 6 }, () =>
    call('POST', '/api/v1/stagings', { token: customerToken, json: { product: 'acme-db', version: '1.0.0' }, timeoutMs: 20_000 }),
  );
  // Its health checks time out: HAProxy takes it out, but what it holds stays held (no shutdown-sessions).
  const frozenAt = now();
  await haproxy.waitFor('web-2', 'DOWN', 10_000);
  t.log(`frozen web-2 marked down after ${Math.round(now() - frozenAt)} ms`);
  oldWeb2.signal('SIGKILL');
  await oldWeb2.exited;
  const [got, posted] = [await Promise.all(gets), await Promise.all(posts)];
  t.deepEqual(
    got.map((a) => a.status),
    got.map(() => 200),
    'every GET is answered (those web-2 held, by web-1 after it died)',
  );
  const lost = posted.filter((a) => a.status === 502);
  t.true(lost.length > 0, `a POST web-2 held gets 502: ${posted.map((a) => a.status).join(' ')}`);
  t.true(
    posted.every((a) => a.status === 201 || a.status === 502),
    posted.map((a) => `${a.status} ${a.text.slice(0, 100)}`).join('; '),
  );
  // web-1 served the GETs web-2 held, and none of the POSTs it held: a POST is sent once.
  t.deepEqual(
    (await servedBy(got)).map((s) => s.host),
    got.map(() => 'web-1'),
    'web-1 answered every GET',
  );
  const log = accessLog();
  t.is(lost.filter((a) => log.has(a.requestId)).length, 0, 'no POST that web-2 held was sent again');
  await cluster.start('web-2');
  await haproxy.waitFor('web-2', 'UP', 10_000);
});

/**
 * An artifact upload (PUT, as a vendor) from CLIENT through HAProxy, sent slowly: `chunks` blocks of
 * 64 KiB, one every `everyMs` ms, so that it is in progress for a while.
 */
function slowUpload(path: string, chunks: number, everyMs: number): Promise<Answer> {
  const requestId = `hx-${randomUUID()}`;
  const headers = {
    'x-request-id': requestId,
    authorization: `Bearer ${vendor}`,
    'content-type': 'application/octet-stream',
    'content-length': String(chunks * 64 * 1024),
  };
  return new Promise((resolve) => {
    const req = request(new URL(path, haproxy.url), { method: 'PUT', headers, localAddress: CLIENT, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, text, json: {}, requestId }));
    });
    // A cut upload is an answer of its own (status 0), not a rejection nobody may be awaiting yet.
    req.on('error', (err) => resolve({ status: 0, headers: {}, text: err.message, json: {}, requestId }));
    let sent = 0;
    const next = () => {
      if (sent === chunks) return void req.end();
      sent++;
      req.write(randomBytes(64 * 1024));
      setTimeout(next, everyMs);
    };
    next();
  });
}

serial(
  'web-2 stopped (SIGTERM) mid-run: no request fails, uploads in progress finish; it drains, HAProxy takes it out, and back in once restarted',
  async (t) => {
    expectStatus(await cluster.api1('POST', '/api/v1/products/acme-db/releases', { token: vendor, json: { version: '2.0.0' } }), 201, 'draft');
    // Uploads started one after another until web-2 has one in progress (HAProxy's current sessions).
    const uploads: Promise<Answer>[] = [];
    await waitFor(
      async () => {
        uploads.push(slowUpload(`/api/v1/products/acme-db/releases/2.0.0/artifacts/up-${uploads.length}.bin`, 20, 100));
        await sleep(100);
        return Number((await haproxy.server('web-2')).scur) > 0 || uploads.length === 6;
      },
      5000,
      'an upload on web-2',
    );
    const load = traffic();
    await sleep(500);
    const oldWeb2 = cluster.web2;
    const stopAt = now();
    oldWeb2.child.kill('SIGTERM'); // the web host's own process, as a supervisor stops it
    let exitMs = Number.NaN;
    void oldWeb2.exited.then(() => (exitMs = now() - stopAt));
    await haproxy.waitFor('web-2', 'DOWN', 10_000);
    const downMs = now() - stopAt;
    const check = await haproxy.server('web-2');
    t.is(await oldWeb2.exited, 0, `it stopped cleanly\n${tail(oldWeb2, 6000)}`);
    drain = { check: `${check.check_status} ${check.check_code}`.trim(), downMs, exitMs };
    const uploaded = await Promise.all(uploads);
    await sleep(500);
    await cluster.start('web-2');
    await haproxy.waitFor('web-2', 'UP', 10_000);
    await sleep(500);
    await load.stop();
    const failed = load.sent.filter((s) => !s.ok);
    t.log(
      `${load.sent.length} requests, ${failed.length} failed; marked down ${Math.round(downMs)} ms after SIGTERM (last check: ${drain.check}), ` +
        `exited after ${Math.round(exitMs)} ms`,
    );
    t.deepEqual(
      failed.map((f) => f.what),
      [],
      'no request fails',
    );
    t.deepEqual(
      uploaded.map((u) => `${u.status} ${u.status === 201 ? '' : u.text.slice(0, 200)}`.trim()),
      uploaded.map(() => '201'),
      'every upload finishes',
    );
    const log = accessLog(oldWeb2);
    const hosts = uploaded.map((u) => log.get(u.requestId)?.host);
    t.true(hosts.includes('web-2'), `an upload was on web-2 while it stopped: ${hosts.join(', ')}`);
  },
);

/** What HAProxy's last health check of web-2 said when it marked it down after SIGTERM, and when (the test above). */
let drain: { check: string; downMs: number; exitMs: number } | undefined;

// A stopping web host (its workers) answers /readyz on its HTTP port with 503 at once while it
// drains (part W), so HAProxy's check sees the 503 (L7STS), not a refused connection (L4CON).
serial('a stopping web host is taken out by its /readyz answering 503 while it drains, within 2 s, before it exits', (t) => {
  t.truthy(drain, 'the SIGTERM test ran');
  t.is(drain!.check, 'L7STS 503', 'taken out by the 503 of /readyz');
  t.true(drain!.downMs < 2000, `marked down ${Math.round(drain!.downMs)} ms after SIGTERM`);
  t.true(drain!.downMs < drain!.exitMs, 'before it exited');
});
