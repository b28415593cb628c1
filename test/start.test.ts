import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { CommlinkClient, KeyBag } from '../lib/commlink/index.js';
import { bagId, readKeyBagFile } from '../lib/commlink/keybag-file.js';
import { silentLogger } from '../lib/log/logger.js';
import { demoArtifactContent } from '../services/internal-db/demo.js';
import { waitFor } from './helpers/chain.js';
import { readRemote, sftpConnect } from './helpers/sftp.js';
import { alive, startSystem } from './helpers/start-process.js';
import { MIGRATIONS } from '../services/internal-db/db/migrations.js';
import type { Endpoints } from '../scripts/start/endpoints.js';
import { pinnedFetch } from '../scripts/start/pinned-fetch.js';
import { curl } from './helpers/tls.js';

const DEMO_PATH = '/acme-db/2.0.0/acme-db-2.0.0-linux-x64.tar.gz';
const passiveBase = 29000 + Math.floor(Math.random() * 4) * 200;

/** A client of npm start's web host: it trusts the web host's own certificate (from endpoints.json), and nothing else. */
async function webClient(endpoints: Endpoints) {
  const ca = await readFile(endpoints.webCertificate.path, 'utf8');
  return {
    ca,
    get: (url: string) => pinnedFetch(url, ca),
    /** GET /readyz's status; 0 while nothing answers. */
    ready: async () => (await pinnedFetch(`${endpoints.web}/readyz`, ca).catch(() => ({ status: 0 }))).status,
    json: async <T>(url: string, token: string): Promise<{ status: number; body: T }> => {
      const res = await pinnedFetch(url, ca, { headers: { authorization: `Bearer ${token}` } });
      return { status: res.status, body: (await res.json()) as T };
    },
  };
}

test('npm start sets up everything, runs the three services in their own processes, writes endpoints.json, serves the demo over HTTP, FTP and SFTP, stops them all on SIGTERM, and started again keeps its secrets and demo logins', async (t) => {
  const system = await startSystem(t, passiveBase);
  const stdout = system.stdout();
  const endpoints = await system.endpoints();
  t.is((await stat(join(system.dataDir, 'endpoints.json'))).mode & 0o777, 0o600, 'endpoints.json holds secrets: mode 0600');
  t.regex(endpoints.web, /^https:\/\/127\.0\.0\.1:\d+$/);
  // Its own HTTPS certificate, self-signed for loopback: the fingerprint printed and written is the file's.
  const certificate = new X509Certificate(await readFile(endpoints.webCertificate.path));
  t.is(endpoints.webCertificate.path, join(system.dataDir, 'secrets', 'web-tls.crt'));
  t.is(endpoints.webCertificate.sha256Fingerprint, certificate.fingerprint256);
  t.true(endpoints.webCertificate.selfSigned);
  t.true(stdout.includes(`SHA-256 fingerprint ${certificate.fingerprint256}`), 'the fingerprint is printed');
  t.true(certificate.checkHost('localhost') !== undefined && certificate.checkIP('127.0.0.1') !== undefined && certificate.checkIP('::1') !== undefined);
  t.is((await stat(join(system.dataDir, 'secrets', 'web-tls.key'))).mode & 0o777, 0o600, 'the key is private');
  const web = await webClient(endpoints);
  // curl trusting that file speaks HTTP/2 to it, and gets HSTS.
  const h2 = await curl(['--http2', '--cacert', endpoints.webCertificate.path, `${endpoints.web}/readyz`]);
  t.is(h2.status, 200);
  t.is(h2.version, '2');
  t.regex(h2.headers['strict-transport-security'] ?? '', /^max-age=\d+$/);
  t.regex(endpoints.ftp, /^ftp:\/\/demo@127\.0\.0\.1:\d+\/$/);
  t.regex(endpoints.sftp, /^sftp:\/\/demo@127\.0\.0\.1:\d+\/$/);
  t.regex(endpoints.download ?? '', /^http:\/\/127\.0\.0\.1:\d+\/files\/\S+$/);
  t.is(endpoints.demo.customer.login, 'demo');
  const { password, apiToken: customerToken } = endpoints.demo.customer as { password: string; apiToken: string };
  t.true(stdout.includes(`portal: ${endpoints.web}/`) && stdout.includes(endpoints.ftp));
  // Its output is not a terminal here: it says where the secrets are, and shows none of them.
  t.true(stdout.includes(join(system.dataDir, 'secrets', 'demo.json')), 'names the demo secrets file');
  t.true(stdout.includes(join(system.dataDir, 'endpoints.json')));
  const ticket = new URL(endpoints.download!).searchParams.get('ticket')!;
  for (const [what, secret] of Object.entries({
    password,
    customerToken,
    vendorToken: endpoints.demo.vendor.apiToken!,
    adminToken: endpoints.demo.adminToken!,
    ticket,
  })) {
    t.false(stdout.includes(secret), `no ${what} in the output`);
    t.false(system.stderr().includes(secret), `no ${what} in the log`);
  }
  // Metrics on the web host's operations listener (loopback), not on its public port.
  t.regex(endpoints.metrics, /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
  t.regex(await (await fetch(endpoints.metrics)).text(), /ffs_web_http_requests_total/);
  t.is((await web.get(`${endpoints.web}/metrics`)).status, 404);
  // Three processes, none of them the supervisor.
  const pids = Object.values(endpoints.services).map((s) => s.pid as number);
  t.is(new Set(pids).size, 3);
  t.false(pids.includes(system.child.pid!));
  t.true(pids.every(alive));

  const keys = await readKeyBagFile(join(system.dataDir, 'secrets', 'keybag-internal-db'));
  const fileHostKeys = await readKeyBagFile(join(system.dataDir, 'secrets', 'keybag-file-host'));
  t.false(stdout.includes(keys[0]!.toString('base64')) || stdout.includes(fileHostKeys[0]!.toString('base64')), 'no key is printed');
  t.not(bagId(keys), bagId(fileHostKeys), 'each link has its own bag');
  const dbPort = Number(/listening on commlink 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
  const client = new CommlinkClient({ host: '127.0.0.1', port: dbPort, bag: new KeyBag(keys), log: silentLogger });
  t.like(await client.request('db.info', {}, { timeoutMs: 5000 }), { schemaVersion: MIGRATIONS.at(-1)!.version, customers: 1 });
  t.like(await client.request('auth.check', { login: 'demo', password, protocol: 'http', clientAddress: '127.0.0.1' }, { timeoutMs: 10_000 }), {
    customer: { login: 'demo' },
  });
  await client.close();

  // The demo download over HTTP (the link in endpoints.json), SFTP and FTP.
  const res = await fetch(endpoints.download!);
  const body = Buffer.from(await res.arrayBuffer());
  t.is(res.status, 200);
  t.true(body.equals(demoArtifactContent('2.0.0')));
  t.is(res.headers.get('x-checksum-sha256'), createHash('sha256').update(body).digest('hex'));
  const sftpPort = Number(new URL(endpoints.sftp).port);
  const { sftp, close } = await sftpConnect({ port: sftpPort, username: 'demo', password });
  t.true((await readRemote(sftp, DEMO_PATH)).equals(demoArtifactContent('2.0.0')));
  close();
  const ftpPort = Number(new URL(endpoints.ftp).port);
  const viaFtp = await promisify(execFile)('curl', ['-sS', '--fail', `ftp://demo:${encodeURIComponent(password)}@127.0.0.1:${ftpPort}${DEMO_PATH}`], {
    encoding: 'buffer',
    maxBuffer: 4 * 1024 * 1024,
  });
  t.true(viaFtp.stdout.equals(demoArtifactContent('2.0.0')));
  // The portal and the API, with the demo tokens.
  t.is(await web.ready(), 200);
  const home = await web.get(`${endpoints.web}/`);
  t.is(home.status, 303);
  t.is((await web.get(new URL(home.headers.get('location')!, endpoints.web).href)).status, 200);
  const downloads = await web.json<{ artifacts: { version: string }[] }>(`${endpoints.api}/downloads`, customerToken);
  t.deepEqual(
    downloads.body.artifacts.map((a) => a.version),
    ['2.0.0', '1.0.0'],
  );
  t.is((await web.json(`${endpoints.api}/products`, endpoints.demo.vendor.apiToken!)).status, 200);
  t.is((await web.json(`${endpoints.api}/file-hosts`, endpoints.demo.adminToken!)).status, 200);

  system.child.kill('SIGTERM');
  t.is(await system.exited, 0);
  t.regex(system.stdout(), /SIGTERM: closing/);
  t.false(pids.some(alive), 'every service has stopped');

  // Started again on the same data: nothing is regenerated, and the same demo logins still work.
  const again = await startSystem(t, passiveBase, {}, system.dataDir);
  t.regex(again.stdout(), /key bag exists/);
  t.regex(again.stdout(), /web HTTPS certificate exists/);
  const second = await again.endpoints();
  t.deepEqual(second.demo, endpoints.demo);
  t.deepEqual(second.webCertificate, endpoints.webCertificate, 'the same certificate: clients that trust it keep working');
  t.is((await (await webClient(second)).json(`${second.api}/downloads`, customerToken)).status, 200);
  t.true(Buffer.from(await (await fetch(second.download!)).arrayBuffer()).equals(demoArtifactContent('2.0.0')));
  again.child.kill('SIGTERM');
  t.is(await again.exited, 0);
});

test('a crashed service is restarted on the same ports while the others keep serving; a killed supervisor takes its services with it', async (t) => {
  const system = await startSystem(t, passiveBase + 100);
  const first = await system.endpoints();
  const web = await webClient(first);
  const { json } = web;
  const token = first.demo.customer.apiToken!;
  const password = first.demo.customer.password!;
  const downloads = await json<{ artifacts: { artifactId: number; version: string }[] }>(`${first.api}/downloads`, token);
  const artifact = downloads.body.artifacts.find((a) => a.version === '2.0.0')!;

  // The file host dies: the web host keeps answering (and says it is not ready), then the file host is back.
  process.kill(first.services['file-host'].pid!, 'SIGKILL');
  await waitFor(async () => (await web.ready()) === 503, 20_000, 'the web host to notice');
  t.is((await json(`${first.api}/downloads`, token)).status, 200, 'the API keeps serving without a file host');
  await waitFor(async () => (await system.endpoints()).services['file-host'].restarts === 1, 30_000, 'the file host to be restarted');
  await waitFor(async () => (await web.ready()) === 200, 30_000, 'the file host to register again');
  const second = await system.endpoints();
  t.not(second.services['file-host'].pid, first.services['file-host'].pid);
  t.is(second.services.web.pid, first.services.web.pid, 'the web host was not restarted');
  t.is(second.sftp, first.sftp, 'the same ports');
  t.true(system.stdout().includes('file-host restarted'));
  const link = await json<{ url: string }>(`${first.api}/artifacts/${artifact.artifactId}/link`, token);
  t.is(link.status, 200);
  t.true(Buffer.from(await (await fetch(link.body.url)).arrayBuffer()).equals(demoArtifactContent('2.0.0')));
  const { sftp, close } = await sftpConnect({ port: Number(new URL(second.sftp).port), username: 'demo', password });
  t.true((await readRemote(sftp, DEMO_PATH)).equals(demoArtifactContent('2.0.0')));
  close();

  // The internal-db dies: it comes back on its port with its data, and the web host reconnects.
  process.kill(first.services['internal-db'].pid!, 'SIGKILL');
  await waitFor(async () => (await system.endpoints()).services['internal-db'].restarts === 1, 30_000, 'the internal-db to be restarted');
  await waitFor(async () => (await web.ready()) === 200, 30_000, 'the web host to reconnect');
  t.is((await json(`${first.api}/downloads`, token)).status, 200);

  // The supervisor is killed outright: each service sees its IPC channel close and stops.
  const pids = Object.values((await system.endpoints()).services).map((s) => s.pid!);
  system.child.kill('SIGKILL');
  await waitFor(() => !pids.some(alive), 20_000, 'the services to stop with their supervisor');
  t.pass();
});

test('in reverse-dial mode the internal-db dials the web host; when the web host dies it comes back on the same ports and both the internal-db and the file host find it again', async (t) => {
  // The web host listens for the internal-db on a port of its choosing; the supervisor tells the internal-db which.
  const system = await startSystem(t, passiveBase + 200, { FFS_SERVICES__INTERNAL_DB__MODE: 'dial', FFS_SERVICES__INTERNAL_DB__DIAL_PORT: '0' });
  t.regex(system.stdout(), /internal-db \(pid \d+\) dialling the web host at 127\.0\.0\.1:\d+/);
  const first = await system.endpoints();
  const { json, ready } = await webClient(first);
  const token = first.demo.customer.apiToken!;
  t.is((await fetch(first.download!)).status, 200);
  process.kill(first.services.web.pid!, 'SIGKILL');
  await waitFor(async () => (await system.endpoints()).services.web.restarts === 1, 30_000, 'the web host to be restarted');
  await waitFor(async () => (await ready()) === 200, 30_000, 'the internal-db and the file host to reconnect');
  const second = await system.endpoints();
  t.not(second.services.web.pid, first.services.web.pid);
  t.is(second.services['internal-db'].pid, first.services['internal-db'].pid, 'the internal-db kept running');
  t.is(second.services['file-host'].pid, first.services['file-host'].pid, 'the file host kept running');
  const downloads = await json<{ artifacts: { artifactId: number; version: string }[] }>(`${first.api}/downloads`, token);
  t.is(downloads.status, 200);
  const link = await json<{ url: string }>(`${first.api}/artifacts/${downloads.body.artifacts[0]!.artifactId}/link`, token);
  t.true(Buffer.from(await (await fetch(link.body.url)).arrayBuffer()).equals(demoArtifactContent('2.0.0')));
  system.child.kill('SIGTERM');
  t.is(await system.exited, 0);
});

test('npm start refuses a bad setting naming it (exit 2), and a port in use stops what it started and exits 1 naming the service', async (t) => {
  const script = new URL('../scripts/start.js', import.meta.url).pathname;
  const run = (env: Record<string, string>) =>
    promisify(execFile)(process.execPath, [script], { env: { ...process.env, FFS_LOG__LEVEL: 'warn', ...env }, timeout: 60_000 }).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
  const bad = await run({ FFS_SERVICES__WEB__PORT: 'eighty' });
  t.is(bad.code, 2);
  t.regex(bad.stderr, /services\.web\.port/);

  const dataDir = await mkdtemp(join(tmpdir(), 'ffs-start-busy-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const busy = createServer().listen(0, '127.0.0.1');
  await once(busy, 'listening');
  t.teardown(() => void busy.close());
  const inUse = await run({
    FFS_DATA_DIR: dataDir,
    FFS_LOG__LEVEL: 'info', // the supervisor's 'internal-db is ready' record names the port the internal-db got
    FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0',
    FFS_SERVICES__WEB__COMMLINK_PORT: '0',
    FFS_SERVICES__WEB__PORT: String((busy.address() as AddressInfo).port),
  });
  t.is(inUse.code, 1);
  t.regex(inUse.stderr, /web exited before it was ready/);
  t.notRegex(inUse.stderr, /restarting/, 'a first start that fails is not retried');
  // The internal-db it had started is gone: its port is free.
  const dbPort = readyPort(inUse.stderr, 'internal-db', 'commlinkPort');
  const probe = connect(dbPort, '127.0.0.1');
  const outcome = await new Promise<string | undefined>((resolve) => {
    probe.once('connect', () => resolve('connected'));
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code));
  });
  probe.destroy();
  t.is(outcome, 'ECONNREFUSED');
});

/** A port from the supervisor's log record of a service's ready message (`<name> is ready`, with its endpoints). */
function readyPort(log: string, service: string, key: string): number {
  for (const line of log.split('\n')) {
    if (!line.includes(`"${service} is ready"`)) continue;
    const port = (JSON.parse(line) as { endpoints?: Record<string, unknown> }).endpoints?.[key];
    if (typeof port === 'number') return port;
  }
  throw new Error(`no '${service} is ready' record with ${key} in:\n${log}`);
}
