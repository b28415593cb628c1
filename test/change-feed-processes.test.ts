/**
 * The change feed, measured across processes (issue 16, "What a change does, within 1 s"): one
 * internal-db, web-1 and web-2 on it, file-1 dialling web-1 and file-2 dialling web-2, each a
 * process. Changes are made through web-1's API (or the admin CLI, on the database itself); their
 * effects are observed on web-2 and file-2 with real clients (fetch, basic-ftp, a raw FTP control
 * connection, ssh2). Every cache lives ten minutes here (FEED_CLUSTER_ENV), so only the feed can
 * make a change take effect in time. Each effect is measured over ROUNDS rounds, from the change's
 * reply to the first observation (polled every 10 ms), and its p99 must be ≤ 1000 ms (with fewer
 * than 100 rounds, p99 is the slowest round). A round whose effect is not seen within 3 s fails
 * its scenario at once. The table of every effect is logged by the last test.
 */
import test, { type ExecutionContext } from 'ava';
import { Client, FTPError } from 'basic-ftp';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFile, rm } from 'node:fs/promises';
import { get } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { csrfOf, PortalClient } from './helpers/browser.js';
import { expectStatus, publishRelease, startFeedCluster, type ApiAt, type FeedCluster } from './helpers/feed-cluster.js';
import { Raw } from './helpers/ftp.js';
import { arrival, formatTable, Latencies, now, observe, timed, type Summary } from './helpers/latency.js';
import type { TeardownScope } from './helpers/processes.js';
import { sftpConnect, type SftpConnection } from './helpers/sftp.js';
import { serverEndOpen } from './helpers/tcp-state.js';
import { waitFor } from './helpers/wait.js';
import { FeedSubscriber, type FeedChange } from './helpers/feed-subscriber.js';

const run = promisify(execFile);

/** Rounds per effect (FEED_ROUNDS to measure longer). */
const ROUNDS = Number(process.env.FEED_ROUNDS ?? 20);
/** The bound of the issue: p99 of every effect, in ms. */
const P99_BOUND_MS = 1000;
const PASSWORD = 'correct horse battery';
/** FTP passive ports: this file's region (30200-30999: below the ephemeral range, used by no other test), 20 for the two file hosts. */
const PASSIVE_MIN = 30_200 + Math.floor(Math.random() * 39) * 20;
const ADMIN_CLI = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'admin.js');

/** Teardowns of what the file's tests share (the cluster), run after the last of them. */
const teardowns: (() => unknown)[] = [];
const scope: TeardownScope = { teardown: (fn) => void teardowns.push(fn) };

let cluster: FeedCluster;
let vendor: string;
const all = new Latencies();

test.before(async () => {
  cluster = await startFeedCluster(scope, PASSIVE_MIN);
  const { api1, admin } = cluster;
  expectStatus(await api1('POST', '/api/v1/vendors', { token: admin, json: { name: 'Acme Software' } }), 201, 'vendor');
  vendor = expectStatus(await api1('POST', '/api/v1/tokens', { token: admin, json: { kind: 'vendor', owner: 'Acme Software' } }), 201, 'vendor token').body
    .token as string;
  for (const code of ['acme-db', 'yank-db', 'list-db', 'pub-db', 'big-db']) {
    expectStatus(await api1('POST', '/api/v1/products', { token: vendor, json: { code, name: code } }), 201, `product ${code}`);
  }
  try {
    await publishRelease(api1, vendor, 'acme-db', '1.0.0', randomBytes(4096));
    await publishRelease(api1, vendor, 'list-db', '1.0.0', randomBytes(4096));
    await publishRelease(api1, vendor, 'big-db', '1.0.0', randomBytes(BIG_SIZE));
  } catch (err) {
    // What each process logged says why (a publish that failed without an answer was seen in CI once).
    throw new Error(`publishing through web-1 failed: ${String(err)} (${String((err as { cause?: unknown }).cause)})\n${cluster.logs()}`, { cause: err });
  }
});

test.after.always(async () => {
  for (const fn of teardowns.reverse()) await fn();
});

// ---------------------------------------------------------------------------------------------
// Helpers: customers, tokens, logins, the summary

async function createCustomer(login: string): Promise<void> {
  expectStatus(
    await cluster.api1('POST', '/api/v1/customers', { token: cluster.admin, json: { login, name: login, password: PASSWORD } }),
    201,
    `customer ${login}`,
  );
}

async function createToken(login: string): Promise<{ id: number; token: string }> {
  const made = expectStatus(
    await cluster.api1('POST', '/api/v1/tokens', { token: cluster.admin, json: { kind: 'customer', owner: login } }),
    201,
    `token of ${login}`,
  );
  return { id: made.body.id as number, token: made.body.token as string };
}

async function grant(login: string, product: string): Promise<number> {
  return expectStatus(
    await cluster.api1('POST', `/api/v1/customers/${login}/entitlements`, { token: cluster.admin, json: { product } }),
    201,
    `grant ${product}`,
  ).body.id as number;
}

/**
 * True when an FTP login of `login` on file-2 is refused (530); false when it succeeds (the
 * session is closed again) or when the connection is closed in the middle (421 or a bare close:
 * the login raced the change, whose effect ended the session just opened).
 */
async function ftpLoginRefused(login: string): Promise<boolean> {
  const client = new Client(5000);
  try {
    await client.access({ host: '127.0.0.1', port: cluster.file2Ports.ftp, user: login, password: PASSWORD, secure: false });
    return false;
  } catch (err) {
    if (err instanceof FTPError && err.code === 530) return true;
    if ((err instanceof FTPError && err.code === 421) || /FIN packet|closed|ECONNRESET/i.test((err as Error).message)) return false;
    throw err;
  } finally {
    client.close();
  }
}

/**
 * True when an SFTP (password) login of `login` on file-2 is refused; false when it succeeds (the
 * connection is closed again) or the connection closes before the session is up (a race, as for FTP).
 */
async function sftpLoginRefused(login: string): Promise<boolean> {
  try {
    const session = await sftpConnect({ port: cluster.file2Ports.sftp, username: login, password: PASSWORD });
    session.close();
    return false;
  } catch (err) {
    const level = (err as { level?: string }).level;
    if (level === 'client-authentication') return true;
    if (level === 'closed' || /ECONNRESET|closed/i.test((err as Error).message)) return false;
    throw err;
  }
}

/** An FTP control connection to a file host's FTP `port`, logged in as `login`. */
async function ftpSession(t: ExecutionContext, login: string, port: number): Promise<Raw> {
  const raw = await Raw.open(t, port);
  await raw.reply();
  await raw.send(`USER ${login}`);
  const pass = await raw.send(`PASS ${PASSWORD}`);
  if (pass.code !== 230) throw new Error(`FTP login of ${login} on port ${port}: ${pass.text}`);
  return raw;
}

async function sftpSession(t: ExecutionContext, login: string): Promise<SftpConnection> {
  const session = await sftpConnect({ port: cluster.file2Ports.sftp, username: login, password: PASSWORD });
  t.teardown(session.close);
  return session;
}

/** The names in a directory of a live SFTP session ([] when it does not exist). */
function sftpNames(session: SftpConnection, path: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    session.sftp.readdir(path, (err, list) => {
      if (!err) return resolve(list.map((e) => e.filename));
      if ((err as { code?: number }).code === 2) return resolve([]); // no such file
      reject(err);
    }),
  );
}

/** A portal client of web-2 holding the session `signedIn` (of web-1) holds. */
function sameSessionOnWeb2(signedIn: PortalClient): PortalClient {
  const other = new PortalClient(cluster.web2Url);
  for (const [k, v] of signedIn.jar) other.jar.set(k, v);
  return other;
}

/** Asserts every effect of `latencies` is within the bound, and logs their table. */
function assertBound(t: ExecutionContext, latencies: Latencies): void {
  const rows = latencies.summaries();
  t.log(`\n${formatTable(rows)}`);
  for (const row of rows) t.true(row.p99 <= P99_BOUND_MS, `${row.effect}: p99 ${row.p99.toFixed(0)} ms > ${P99_BOUND_MS} ms`);
}

/**
 * Waits for every effect of one change (measured at once, each in its own way) and records those
 * seen; when any was not, fails naming each effect with its time or its failure.
 */
async function settleAll(record: (effect: string, ms: number) => void, effects: Record<string, Promise<number>>): Promise<void> {
  const names = Object.keys(effects);
  const settled = await Promise.allSettled(Object.values(effects));
  const failed = settled.some((s) => s.status === 'rejected');
  if (!failed) {
    settled.forEach((s, i) => record(names[i]!, (s as PromiseFulfilledResult<number>).value));
    return;
  }
  const lines = settled.map((s, i) => `${names[i]!}: ${s.status === 'fulfilled' ? `${s.value.toFixed(0)} ms` : (s.reason as Error).message}`);
  throw new Error(`not every effect was seen:\n  ${lines.join('\n  ')}`);
}

/** Measures one scenario: `round` runs ROUNDS times, recording into a table of its own (and the file's). */
async function measure(t: ExecutionContext, round: (n: number, record: (effect: string, ms: number) => void) => Promise<void>): Promise<void> {
  const mine = new Latencies();
  const record = (effect: string, ms: number) => {
    mine.add(effect, ms);
    all.add(effect, ms);
  };
  for (let n = 0; n < ROUNDS; n++) {
    try {
      await round(n, record);
    } catch (err) {
      throw new Error(`round ${n + 1} of ${ROUNDS}: ${(err as Error).message}\n${cluster.logs()}`, { cause: err });
    }
  }
  assertBound(t, mine);
}

// ---------------------------------------------------------------------------------------------
// The feed itself

test.serial(
  'a change made through web-1 or the admin CLI reaches subscribers of the internal-db and of both gateways within 1 s (p99), in order, once each',
  async (t) => {
    const subscribers = [
      await FeedSubscriber.start(t, 'internal-db', cluster.dataDir, 'internalDb', cluster.dbPort),
      await FeedSubscriber.start(t, 'through web-1', cluster.dataDir, 'fileHost', cluster.web1CommlinkPort),
      await FeedSubscriber.start(t, 'through web-2', cluster.dataDir, 'fileHost', cluster.web2CommlinkPort),
    ];
    const from = Math.min(...subscribers.map((s) => s.after));
    await createCustomer('feed-sub');
    await measure(t, async (n, record) => {
      let since: number;
      let match: (c: FeedChange) => boolean;
      let how: string;
      if (n % 4 === 3) {
        const id = await grant('feed-sub', 'acme-db');
        await run(process.execPath, [ADMIN_CLI, 'entitlement', 'revoke', '--id', String(id), '--json'], {
          env: { ...process.env, FFS_DATA_DIR: cluster.dataDir },
        });
        since = now();
        match = (c) => c.kind === 'entitlement.revoked' && c.entitlementId === id;
        how = 'admin CLI';
      } else {
        const { id } = await createToken('feed-sub');
        expectStatus(await cluster.api1('DELETE', `/api/v1/tokens/${id}`, { token: cluster.admin }), 200, 'revoke');
        since = now();
        match = (c) => c.kind === 'token.revoked' && c.tokenId === id;
        how = 'web-1 API';
      }
      const arrivals = await Promise.all(subscribers.map((s) => s.arrival(how, since, match)));
      arrivals.forEach((ms, i) => record(`change (${how}) at a subscriber ${subscribers[i]!.name}`, ms));
    });
    // Each saw every change after its start, once, in order (the same log through any gateway).
    for (const s of subscribers) {
      const seqs = s.seqs();
      t.deepEqual(
        seqs,
        seqs.map((_, i) => s.seqs()[0]! + i),
        `${s.name}: contiguous, once each`,
      );
      t.true(seqs[0]! <= from + 1, `${s.name}: from its start`);
      t.is(s.resets, 0);
    }
  },
);

// ---------------------------------------------------------------------------------------------
// Web hosts: API tokens, portal sessions

test.serial('a token revoked through web-1 is refused on web-2 within 1 s (p99), though web-2 remembered it', async (t) => {
  await createCustomer('feed-tok');
  await measure(t, async (_n, record) => {
    const { id, token } = await createToken('feed-tok');
    expectStatus(await cluster.api2('GET', '/api/v1/entitlements', { token }), 200, 'the token on web-2 before (now remembered there)');
    expectStatus(await cluster.api1('DELETE', `/api/v1/tokens/${id}`, { token: cluster.admin }), 200, 'revoke');
    const since = now();
    record(
      'revoked token refused on web-2',
      await observe('the revoked token refused on web-2', since, async () => (await cluster.api2('GET', '/api/v1/entitlements', { token })).status === 401),
    );
  });
});

/** Tokens revoked at once in the burst test. */
const BURST = 50;

test.serial(`a burst of ${BURST} token revocations made at once through web-1: every token is refused on web-2 within 1 s of the last reply`, async (t) => {
  await createCustomer('feed-burst');
  const viaWeb2 = await FeedSubscriber.start(t, 'through web-2', cluster.dataDir, 'fileHost', cluster.web2CommlinkPort);
  const tokens = await Promise.all(Array.from({ length: BURST }, () => createToken('feed-burst')));
  for (const { token } of tokens) expectStatus(await cluster.api2('GET', '/api/v1/entitlements', { token }), 200, 'a token on web-2 before');
  const replies = await Promise.all(tokens.map(({ id }) => cluster.api1('DELETE', `/api/v1/tokens/${id}`, { token: cluster.admin })));
  for (const reply of replies) expectStatus(reply, 200, 'revoke');
  const since = now();
  const left = new Set(tokens.map((x) => x.token));
  const ms = await observe('every token refused on web-2', since, async () => {
    await Promise.all(
      [...left].map(async (token) => {
        if ((await cluster.api2('GET', '/api/v1/entitlements', { token })).status === 401) left.delete(token);
      }),
    );
    return left.size === 0;
  });
  const revoked = new Set(tokens.map((x) => x.id));
  const seenIds = () => viaWeb2.arrivals.filter((a) => a.change.kind === 'token.revoked' && revoked.has(a.change.tokenId!)).map((a) => a.change.tokenId);
  await waitFor(() => new Set(seenIds()).size === BURST, 3000, 'every revocation at the subscriber through web-2');
  const seen = seenIds();
  t.is(new Set(seen).size, BURST, 'the subscriber through web-2 had every revocation, once each');
  t.is(seen.length, BURST);
  all.add(`burst of ${BURST} revocations: the last refused on web-2`, ms);
  const lastAt = Math.max(...viaWeb2.arrivals.filter((a) => a.change.kind === 'token.revoked' && revoked.has(a.change.tokenId!)).map((a) => a.at));
  t.log(
    `the last of ${BURST} revoked tokens refused on web-2 ${ms.toFixed(0)} ms after the last reply; the last revocation at a subscriber through web-2 ${Math.max(0, lastAt - since).toFixed(0)} ms after it`,
  );
  t.true(ms <= P99_BOUND_MS, `${ms.toFixed(0)} ms`);
});

test.serial('a portal session signed out on web-1, or ended by a password change there, is refused on web-2 within 1 s (p99)', async (t) => {
  await createCustomer('feed-portal');
  let password = PASSWORD;
  await measure(t, async (n, record) => {
    const onWeb1 = new PortalClient(cluster.webUrl);
    const signIn = await onWeb1.signIn('feed-portal', password);
    if (signIn.status !== 303) throw new Error(`sign-in on web-1: ${signIn.status}`);
    const onWeb2 = sameSessionOnWeb2(onWeb1);
    if ((await onWeb2.get('/downloads')).status !== 200) throw new Error('the session on web-2 before');
    let effect: string;
    if (n % 2 === 0) {
      const page = await onWeb1.get('/downloads');
      if ((await onWeb1.post('/signout', { csrf: csrfOf(page.text) })).status !== 303) throw new Error('sign-out on web-1');
      effect = 'signed-out portal session refused on web-2';
    } else {
      password = `another long password ${n}`;
      expectStatus(await cluster.api1('PATCH', '/api/v1/customers/feed-portal', { token: cluster.admin, json: { password } }), 200, 'password change');
      effect = 'portal session ended on web-2 by a password change';
    }
    const since = now();
    record(effect, await observe(effect, since, async () => (await onWeb2.get('/downloads')).status === 303));
  });
});

// ---------------------------------------------------------------------------------------------
// A disabled customer, everywhere

const BIG_SIZE = 64 * 1024 * 1024;

/**
 * A download in progress: resolves once its first MiB came, then reads no more (a stalled
 * customer: the file host cannot finish it). Whether the file host has closed it is read from the
 * kernel (serverEndOpen), since the client would see the close only after what the kernel
 * buffered. The connection is destroyed at the end of the test.
 */
function heldDownload(t: ExecutionContext, url: string): Promise<{ closedByServer: () => Promise<boolean> }> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      if (res.statusCode !== 200) return reject(new Error(`the download answered ${res.statusCode}`));
      let received = 0;
      const onData = (chunk: Buffer) => {
        received += chunk.length;
        if (received < 1024 * 1024) return;
        res.off('data', onData);
        res.pause();
        const serverPort = Number(new URL(url).port);
        const clientPort = res.socket.localPort!;
        resolve({ closedByServer: async () => !(await serverEndOpen(serverPort, clientPort)) });
      };
      res.on('data', onData);
      res.on('error', () => {});
    });
    req.on('error', reject);
    t.teardown(() => req.destroy());
  });
}

test.serial(
  'a customer disabled through web-1: its token, portal session, FTP and SFTP logins and live sessions end on web-2 and file-2 within 1 s (p99)',
  async (t) => {
    await measure(t, async (n, record) => {
      const login = `feed-off-${n}`;
      await createCustomer(login);
      const { token } = await createToken(login);
      // Everything works before, and each cache has it: web-2's token cache, its portal session, file-2's login cache.
      expectStatus(await cluster.api2('GET', '/api/v1/entitlements', { token }), 200, 'the token on web-2 before');
      const portal = new PortalClient(cluster.web2Url);
      if ((await portal.signIn(login, PASSWORD)).status !== 303 || (await portal.get('/downloads')).status !== 200) throw new Error('portal session on web-2');
      // A download from each file host, in progress (links from web-2 for file-2, from web-1 for file-1).
      await grant(login, 'big-db');
      const onFile2 = await heldDownload(t, (await linkOn(cluster.api2, token, 'big-db', '1.0.0', now())).url);
      const onFile1 = await heldDownload(t, (await linkOn(cluster.api1, token, 'big-db', '1.0.0', now())).url);
      // The logins after the staging (a staging drops the customer's remembered logins on that file host).
      const ftp = await ftpSession(t, login, cluster.file2Ports.ftp);
      const ftpOnFile1 = await ftpSession(t, login, cluster.file1Ports.ftp);
      const sftp = await sftpSession(t, login);
      if ((await ftpLoginRefused(login)) || (await sftpLoginRefused(login))) throw new Error('a login refused before the change');
      const ftpTold = timed(ftp.reply(30_000));
      const ftpToldOnFile1 = timed(ftpOnFile1.reply(30_000));
      const sftpClosed = timed(new Promise<void>((resolve) => sftp.client.once('close', () => resolve())));

      expectStatus(await cluster.api1('PATCH', `/api/v1/customers/${login}`, { token: cluster.admin, json: { disabled: true } }), 200, 'disable');
      const since = now();
      const told421 = (what: string) => (arrived: { value: { code: number; text: string }; ms: number }) => {
        if (arrived.value.code !== 421) throw new Error(`${what} got ${arrived.value.code} (${arrived.value.text}), not 421`);
        return arrived.ms;
      };
      await settleAll(record, {
        'disabled: token refused on web-2': observe('token', since, async () => (await cluster.api2('GET', '/api/v1/entitlements', { token })).status === 401),
        'disabled: portal session refused on web-2': observe('portal session', since, async () => (await portal.get('/downloads')).status === 303),
        // A login costs more than the other probes (an SSH handshake most): they poll less often, not to slow the rest.
        'disabled: FTP login refused on file-2': observe('FTP login', since, () => ftpLoginRefused(login), { intervalMs: 20 }),
        'disabled: SFTP login refused on file-2': observe('SFTP login', since, () => sftpLoginRefused(login), { intervalMs: 50 }),
        'disabled: live FTP session 421 on file-2': arrival('live FTP session', since, ftpTold).then(told421('the live FTP session on file-2')),
        'disabled: live SFTP session closed on file-2': arrival('live SFTP session', since, sftpClosed).then(({ ms }) => ms),
        'disabled: HTTP download closed on file-2': observe('HTTP download', since, onFile2.closedByServer),
        'disabled: live FTP session 421 on file-1': arrival('live FTP session', since, ftpToldOnFile1).then(told421('the live FTP session on file-1')),
        'disabled: HTTP download closed on file-1': observe('HTTP download', since, onFile1.closedByServer),
      });
    });
  },
);

// ---------------------------------------------------------------------------------------------
// Tickets issued by web-2 before a revocation or a yank

/**
 * The download link a web host (`api`) gives `token` for the artifact of `product` `version`
 * (polled from `since`: a grant or a publish may reach that web host later), checked to serve.
 */
async function linkOn(api: ApiAt, token: string, product: string, version: string, since: number): Promise<{ url: string; ms: number }> {
  let url = '';
  const ms = await observe(`${product} ${version} downloadable`, since, async () => {
    const downloads = await api('GET', `/api/v1/downloads?product=${product}`, { token });
    const artifact = (downloads.body.artifacts as { artifactId: number; version: string }[] | undefined)?.find((a) => a.version === version);
    if (!artifact) return false;
    const link = await api('GET', `/api/v1/artifacts/${artifact.artifactId}/link`, { token });
    if (link.status !== 200) return false;
    url = link.body.url as string;
    return true;
  });
  if (await ticketRefused(url)) throw new Error(`the link ${url} does not serve before the change`);
  return { url, ms };
}

const linkOnWeb2 = (token: string, product: string, version: string, since: number) => linkOn(cluster.api2, token, product, version, since);

/** True once the file host refuses the ticket (a 4xx) for its first byte; false while it serves it; a 5xx is a failure. */
async function ticketRefused(url: string): Promise<boolean> {
  const res = await fetch(url, { headers: { range: 'bytes=0-0' } });
  await res.arrayBuffer();
  if (res.status >= 500) throw new Error(`${url}: ${res.status}`);
  return res.status >= 400;
}

test.serial('a ticket issued by web-2 before a revocation (API or admin CLI) or a yank made through web-1 is refused by file-2 within 1 s (p99)', async (t) => {
  await createCustomer('feed-dl');
  const { token } = await createToken('feed-dl');
  await grant('feed-dl', 'yank-db');
  await measure(t, async (n, record) => {
    const kind = (['revoke', 'yank', 'cli'] as const)[n % 3]!;
    if (kind === 'yank') {
      const version = `1.0.${n}`;
      await publishRelease(cluster.api1, vendor, 'yank-db', version, randomBytes(4096));
      const { url, ms } = await linkOnWeb2(token, 'yank-db', version, now());
      record('published release downloadable through web-2', ms);
      expectStatus(await cluster.api1('POST', `/api/v1/products/yank-db/releases/${version}/yank`, { token: vendor }), 200, 'yank');
      const since = now();
      record('ticket refused on file-2 after a yank', await observe('the ticket refused after the yank', since, () => ticketRefused(url)));
      return;
    }
    const id = await grant('feed-dl', 'acme-db');
    const { url, ms } = await linkOnWeb2(token, 'acme-db', '1.0.0', now());
    record('granted entitlement downloadable through web-2', ms);
    if (kind === 'revoke') {
      expectStatus(await cluster.api1('DELETE', `/api/v1/customers/feed-dl/entitlements/${id}`, { token: cluster.admin }), 200, 'revoke');
    } else {
      // The admin CLI writes the database itself, from a process of its own.
      await run(process.execPath, [ADMIN_CLI, 'entitlement', 'revoke', '--id', String(id), '--json'], {
        env: { ...process.env, FFS_DATA_DIR: cluster.dataDir },
      });
    }
    const since = now();
    const effect = kind === 'revoke' ? 'ticket refused on file-2 after a revocation' : 'ticket refused on file-2 after a revocation (admin CLI)';
    record(effect, await observe(effect, since, () => ticketRefused(url)));
  });
});

// ---------------------------------------------------------------------------------------------
// Areas follow entitlements in a live SFTP session

test.serial(
  "a live SFTP session on file-2 sees a grant's and a publish's releases appear and a revocation's leave within 1 s (p99), nothing staged",
  async (t) => {
    await createCustomer('feed-ls');
    await grant('feed-ls', 'pub-db');
    const session = await sftpSession(t, 'feed-ls');
    await measure(t, async (n, record) => {
      const id = await grant('feed-ls', 'list-db');
      let since = now();
      record(
        'granted release appears in a live SFTP listing on file-2',
        await observe('list-db 1.0.0 in the listing', since, async () => (await sftpNames(session, '/list-db')).includes('1.0.0')),
      );
      expectStatus(await cluster.api1('DELETE', `/api/v1/customers/feed-ls/entitlements/${id}`, { token: cluster.admin }), 200, 'revoke');
      since = now();
      record(
        'revoked release leaves a live SFTP listing on file-2',
        await observe('list-db 1.0.0 gone from the listing', since, async () => !(await sftpNames(session, '/list-db')).includes('1.0.0')),
      );
      const version = `2.0.${n}`;
      await publishRelease(cluster.api1, vendor, 'pub-db', version, randomBytes(1024));
      since = now();
      record(
        'published release appears in a live SFTP listing on file-2',
        await observe(`pub-db ${version} in the listing`, since, async () => (await sftpNames(session, '/pub-db')).includes(version)),
      );
    });
  },
);

// ---------------------------------------------------------------------------------------------
// web-2 killed while changes are made

/** What the restart test leaves for the next one to check on file-2 (its sessions live in the file's scope). */
let afterRestart: { since: number; url: string; sftpClosed: Promise<{ value: void; at: number }> } | undefined;

test.serial(
  'web-2 killed (SIGKILL) while changes are made and started again: a subscriber through its gateway resumes by sequence and misses none',
  async (t) => {
    // One customer with a ticket from web-2, another with a live SFTP session and a remembered FTP login on file-2.
    await createCustomer('feed-rs-dl');
    const { token } = await createToken('feed-rs-dl');
    const id = await grant('feed-rs-dl', 'acme-db');
    const { url } = await linkOnWeb2(token, 'acme-db', '1.0.0', now());
    await createCustomer('feed-rs-off');
    const sftp = await sftpConnect({ port: cluster.file2Ports.sftp, username: 'feed-rs-off', password: PASSWORD });
    scope.teardown(sftp.close);
    const sftpClosed = timed(new Promise<void>((resolve) => sftp.client.once('close', () => resolve())));
    t.false(await ftpLoginRefused('feed-rs-off'), 'the FTP login works before (and file-2 remembers it)');
    const viaWeb2 = await FeedSubscriber.start(t, 'through web-2', cluster.dataDir, 'fileHost', cluster.web2CommlinkPort);
    const from = viaWeb2.after;

    // The revocation races the kill; the disable is made while web-2 is down.
    const revoked = cluster.api1('DELETE', `/api/v1/customers/feed-rs-dl/entitlements/${id}`, { token: cluster.admin });
    await cluster.kill('web-2');
    expectStatus(await revoked, 200, 'revoke');
    expectStatus(await cluster.api1('PATCH', '/api/v1/customers/feed-rs-off', { token: cluster.admin, json: { disabled: true } }), 200, 'disable');
    t.is(await fetch(`${cluster.web2Url}/readyz`).catch(() => undefined), undefined, 'web-2 is down');

    await cluster.start('web-2');
    const since = now();
    afterRestart = { since, url, sftpClosed };
    const disabled = await viaWeb2.arrival(
      'customer.disabled of feed-rs-off',
      since,
      (c) => c.kind === 'customer.disabled' && c.customer === 'feed-rs-off',
      10_000,
    );
    t.log(`the subscriber through web-2 had the disable ${disabled.toFixed(0)} ms after web-2 was ready again`);
    t.true(viaWeb2.failures > 0, 'its long wait failed when web-2 died');
    const seqs = viaWeb2.seqs();
    t.deepEqual(
      seqs,
      seqs.map((_, i) => from + 1 + i),
      'every change after the one it had, once each, in order',
    );
    t.true(
      viaWeb2.arrivals.some((a) => a.change.kind === 'entitlement.revoked' && a.change.entitlementId === id),
      'the revocation made as web-2 was killed',
    );
    t.is(viaWeb2.resets, 0);
  },
);

test.serial('web-2 killed and started again: the changes made meanwhile take effect on file-2 (a ticket, a login, a live session)', async (t) => {
  if (!afterRestart) throw new Error('the restart test did not get as far as the restart');
  const { since, url, sftpClosed } = afterRestart;
  const timeoutMs = 10_000;
  const restarted = new Latencies();
  await settleAll((effect, ms) => restarted.add(effect, ms), {
    'after the restart: ticket refused on file-2 (revoked as web-2 was killed)': observe('ticket', since, () => ticketRefused(url), { timeoutMs }),
    'after the restart: FTP login refused on file-2 (disabled while web-2 was down)': observe('FTP login', since, () => ftpLoginRefused('feed-rs-off'), {
      timeoutMs,
    }),
    'after the restart: live SFTP session closed on file-2 (0: before)': arrival('live SFTP session', since, sftpClosed, timeoutMs).then(({ ms }) => ms),
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${cluster.logs()}`);
  });
  t.log(`\nfrom web-2 ready again (once each)\n${restarted.table()}`);
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// The internal-db killed and started again

/** Waits until both web hosts have their link to the internal-db again (/readyz). */
async function webHostsReconnected(): Promise<void> {
  for (const url of [cluster.webUrl, cluster.web2Url]) {
    await waitFor(
      async () => {
        const res = await fetch(`${url}/readyz`).catch(() => undefined);
        return res !== undefined && ((await res.json()) as { internalDb?: boolean }).internalDb === true;
      },
      20_000,
      () => `${url} to reconnect to the internal-db\n${cluster.logs()}`,
    );
  }
}

test.serial(
  'the internal-db killed (SIGKILL) and started again: subscribers through both gateways go on from the sequence they had, and miss none',
  async (t) => {
    const subscribers = [
      await FeedSubscriber.start(t, 'through web-1', cluster.dataDir, 'fileHost', cluster.web1CommlinkPort),
      await FeedSubscriber.start(t, 'through web-2', cluster.dataDir, 'fileHost', cluster.web2CommlinkPort),
    ];
    await createCustomer('feed-db-rs');
    const before = await createToken('feed-db-rs');
    expectStatus(await cluster.api1('DELETE', `/api/v1/tokens/${before.id}`, { token: cluster.admin }), 200, 'revoke before the kill');
    await cluster.kill('internal-db');
    await cluster.start('internal-db');
    await webHostsReconnected();
    const after = await createToken('feed-db-rs');
    expectStatus(await cluster.api1('DELETE', `/api/v1/tokens/${after.id}`, { token: cluster.admin }), 200, 'revoke after the restart');
    const since = now();
    for (const s of subscribers) {
      const ms = await s.arrival('the revocation after the restart', since, (c) => c.kind === 'token.revoked' && c.tokenId === after.id, 5000);
      t.log(`${s.name}: the change made after the restart ${ms.toFixed(0)} ms after its reply`);
      t.true(
        s.arrivals.some((a) => a.change.kind === 'token.revoked' && a.change.tokenId === before.id),
        `${s.name}: the change made before the kill`,
      );
      const seqs = s.seqs();
      t.deepEqual(
        seqs,
        seqs.map((_, i) => seqs[0]! + i),
        `${s.name}: contiguous, once each`,
      );
      t.is(s.resets, 0, `${s.name}: no reset (the log was kept)`);
    }
    // The web hosts serve again, and web-2 knows the token revoked after the restart.
    const status = (await cluster.api2('GET', '/api/v1/entitlements', { token: after.token })).status;
    t.is(status, 401);
  },
);

// ---------------------------------------------------------------------------------------------
// file-2 killed while a change is made

// A file host started again reconciles with its web host before it serves (what it knew went with its process).
test.serial(
  'file-2 killed (SIGKILL) while an entitlement is revoked and started again: the ticket issued before is refused, and a login finds the release gone',
  async (t) => {
    await createCustomer('feed-f2');
    const { token } = await createToken('feed-f2');
    const id = await grant('feed-f2', 'acme-db');
    const { url } = await linkOnWeb2(token, 'acme-db', '1.0.0', now());
    const session = await sftpSession(t, 'feed-f2');
    t.true((await sftpNames(session, '/acme-db')).includes('1.0.0'), 'staged on file-2 before');
    session.close();
    await cluster.kill('file-2');
    expectStatus(await cluster.api1('DELETE', `/api/v1/customers/feed-f2/entitlements/${id}`, { token: cluster.admin }), 200, 'revoke');
    await cluster.start('file-2');
    const since = now();
    const timeoutMs = 10_000;
    const restarted = new Latencies();
    await settleAll((effect, ms) => restarted.add(effect, ms), {
      'after file-2 restarted: the ticket issued before the revocation refused': observe('ticket', since, () => ticketRefused(url), { timeoutMs }),
      'after file-2 restarted: an SFTP login finds the revoked release gone': observe(
        'listing',
        since,
        async () => {
          const again = await sftpConnect({ port: cluster.file2Ports.sftp, username: 'feed-f2', password: PASSWORD });
          try {
            return !(await sftpNames(again, '/acme-db')).includes('1.0.0');
          } finally {
            again.close();
          }
        },
        { timeoutMs },
      ),
    }).catch((err: Error) => {
      throw new Error(`${err.message}\n${cluster.logs()}`);
    });
    t.log(`\nfrom file-2 ready again (once each)\n${restarted.table()}`);
    t.pass();
  },
);

// ---------------------------------------------------------------------------------------------
// The database restored from an older backup: subscribers are told to start over (reset)

// The last scenario: it rewinds the database.
test.serial('the internal-db restored from an older backup: web-2 and file-2 drop what they remembered (a token, a login made after the backup)', async (t) => {
  const env = { ...process.env, FFS_DATA_DIR: cluster.dataDir };
  const { stdout } = await run(process.execPath, [ADMIN_CLI, 'backup', '--name', 'before-feed-late.sqlite', '--json'], { env });
  const backup = (JSON.parse(stdout) as { path: string }).path;
  const subscriber = await FeedSubscriber.start(t, 'through web-2', cluster.dataDir, 'fileHost', cluster.web2CommlinkPort);
  // A customer, its token and its FTP login, made after the backup and remembered by web-2 and file-2.
  await createCustomer('feed-late');
  const { token } = await createToken('feed-late');
  expectStatus(await cluster.api2('GET', '/api/v1/entitlements', { token }), 200, 'the token on web-2 before');
  t.false(await ftpLoginRefused('feed-late'), 'the FTP login on file-2 before');

  await cluster.kill('internal-db');
  const dbPath = join(cluster.dataDir, 'internal-db', 'fulfillment.sqlite');
  await rm(`${dbPath}-wal`, { force: true });
  await rm(`${dbPath}-shm`, { force: true });
  await copyFile(backup, dbPath);
  await cluster.start('internal-db');
  const since = now();
  await webHostsReconnected();
  const restored = new Latencies();
  await settleAll((effect, ms) => restored.add(effect, ms), {
    'restored: a subscriber through web-2 told to start over': subscriber.reset(since, 10_000),
    'restored: the token made after the backup refused on web-2': observe(
      'token',
      since,
      async () => (await cluster.api2('GET', '/api/v1/entitlements', { token })).status === 401,
      { timeoutMs: 10_000 },
    ),
    'restored: the FTP login made after the backup refused on file-2': observe('FTP login', since, () => ftpLoginRefused('feed-late'), {
      timeoutMs: 10_000,
      intervalMs: 20,
    }),
  }).catch((err: Error) => {
    throw new Error(`${err.message}\n${cluster.logs()}`);
  });
  t.log(`\nfrom the internal-db started on the backup (once each)\n${restored.table()}`);
  t.pass();
});

test.serial('summary', (t) => {
  const rows: Summary[] = all.summaries();
  t.log(`\nchange feed across processes, ${ROUNDS} rounds per scenario\n${formatTable(rows)}`);
  t.pass();
});
