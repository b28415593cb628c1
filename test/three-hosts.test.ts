/**
 * The three services on three hosts: network namespaces joined by a switch, each with the firewall
 * of scripts/topology (the same code as `topology up`), the customer side being this namespace.
 * The whole flow runs with real clients across the firewall, then the firewall itself is probed.
 * Needs root, ip and nft (CI installs iproute2 and nftables); without them it fails, naming what is missing.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { randomBytes, randomInt } from 'node:crypto';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { CommlinkClient, Errors } from '../lib/commlink/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { bringUp, checkPrerequisites, type Topology } from '../scripts/topology/network.js';
import { nftIn } from '../scripts/topology/shell.js';
import { DEFAULT_PORTS, type InternalMode } from '../scripts/topology/plan.js';
import { START_ORDER } from '../scripts/topology/services.js';
import { apiAt, sha256Of, uploadFile, writeRandomFile } from './helpers/api.js';
import { waitFor } from './helpers/chain.js';
import { within } from './helpers/wait.js';
import { prepareHostDirs, seedAdminToken } from './helpers/host-dirs.js';
import { probeTcp, startHostService, type HostProcess } from './helpers/netns.js';
import { linkBag } from './helpers/processes.js';
import { sftpConnect } from './helpers/sftp.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;
const SIZE = 8 * MiB;
const PASSWORD = 'correct horse battery';
/** The longest one step of the flow may take (a request, an 8 MiB transfer) before the test fails naming it. */
const STEP_MS = 20_000;
/** Settings that keep three services light on a small CI machine; nothing about addresses. */
const LIGHT = {
  FFS_SERVICES__FTP__HTTP_WORKERS: '1',
  FFS_SERVICES__FTP__SFTP_WORKERS: '1',
  FFS_SERVICES__WEB__WORKERS: '2',
  FFS_SERVICES__WEB__CRYPTO_THREADS: '1',
  FFS_SERVICES__INTERNAL_DB__SCRYPT_LOG_N: '14',
};

/** A topology with a prefix and a /24 of its own, so test runs side by side never meet. */
async function uniqueTopology(mode: InternalMode): Promise<Topology> {
  for (let attempt = 1; ; attempt++) {
    const prefix = `t${randomBytes(4).toString('hex').slice(0, 7)}${mode === 'dial' ? 'd' : 'l'}`;
    const subnet = `10.${randomInt(64, 128)}.${randomInt(0, 256)}.0/24`;
    try {
      return await bringUp({ prefix, subnet, internalMode: mode, ports: { ...DEFAULT_PORTS } });
    } catch (e) {
      if (attempt >= 5 || !/overlaps|exists already/.test((e as Error).message)) throw e;
    }
  }
}

/** Brings a topology up, starts the services in it, and tears all of it down after the test, failed or not. */
async function startThreeHosts(
  t: ExecutionContext,
  mode: InternalMode,
): Promise<{ topology: Topology; processes: HostProcess[]; adminToken: string; work: string; webUrl: string }> {
  await checkPrerequisites();
  const work = await mkdtemp(join(tmpdir(), 'ffs-three-hosts-'));
  const processes: HostProcess[] = [];
  // eslint-disable-next-line prefer-const -- assigned once, after the teardown that reads it is registered
  let topology: Topology | undefined;
  t.teardown(async () => {
    const codes = await Promise.all(processes.map((p) => p.stop()));
    if (codes.some((c) => c !== 0))
      for (const p of processes) t.log(`${p.role} (exit ${String(p.child.exitCode ?? p.child.signalCode)}):\n${p.output().slice(-4000)}`);
    await topology?.down({ killProcesses: true });
    await rm(work, { recursive: true, force: true });
  });
  topology = await uniqueTopology(mode);
  const dirs = await prepareHostDirs(work);
  const adminToken = await seedAdminToken(dirs.internal);
  for (const role of START_ORDER) processes.push(startHostService(topology, role, dirs[role], dist, LIGHT));
  const webUrl = `http://${topology.addresses.web}:${topology.ports.webHttp}`;
  const describe = () => processes.map((p) => `${p.role} (exit ${String(p.child.exitCode)}):\n${p.output().slice(-3000)}`).join('\n');
  for (const deadline = Date.now() + 60_000; ; await sleep(200)) {
    if (processes.some((p) => p.child.exitCode !== null)) throw new Error(`a service exited before the web host was ready:\n${describe()}`);
    if (
      (await fetch(`${webUrl}/readyz`, { signal: AbortSignal.timeout(2000) })
        .then((r) => r.status)
        .catch(() => 0)) === 200
    )
      break;
    if (Date.now() > deadline)
      throw new Error(
        `the web host was not ready (internal-db link up, a file host registered) within 60 s (three services starting on a loaded machine):\n${describe()}`,
      );
  }
  return { topology, processes, adminToken, work, webUrl };
}

/** Publish, entitle, stage, and download over HTTP, FTP and SFTP from the customer side; the audit comes back through the web host. */
async function runTheFlow(t: ExecutionContext, topology: Topology, adminToken: string, work: string, webUrl: string): Promise<void> {
  const artifact = await writeRandomFile(join(work, 'artifact.bin'), SIZE);
  // Every step is bounded and named, so a step that hangs fails the test saying which one.
  const call = (method: string, path: string, token: string, json?: unknown) =>
    within(apiAt(webUrl, method, path, { token, json }), STEP_MS, `${method} ${path}`);
  t.is((await call('POST', '/api/v1/vendors', adminToken, { name: 'Acme Software' })).status, 201);
  const vendor = (await call('POST', '/api/v1/tokens', adminToken, { kind: 'vendor', owner: 'Acme Software' })).body.token as string;
  t.is((await call('POST', '/api/v1/products', vendor, { code: 'acme-db', name: 'Acme DB' })).status, 201);
  t.is((await call('POST', '/api/v1/products/acme-db/releases', vendor, { version: '1.0.0' })).status, 201);
  const upload = await within(
    uploadFile(`${webUrl}/api/v1/products/acme-db/releases/1.0.0/artifacts/acme-db-1.0.0.tar.gz?platform=linux&arch=x64`, vendor, artifact.path, SIZE, {
      'x-checksum-sha256': artifact.sha256,
    }),
    STEP_MS,
    'the vendor upload through the web host',
  );
  t.is(upload.status, 201, JSON.stringify(upload.body));
  t.is((await call('POST', '/api/v1/products/acme-db/releases/1.0.0/publish', vendor)).status, 200);

  t.is((await call('POST', '/api/v1/customers', adminToken, { login: 'globex', name: 'Globex Corp', password: PASSWORD })).status, 201);
  t.is((await call('POST', '/api/v1/customers/globex/entitlements', adminToken, { product: 'acme-db', range: '^1.0.0' })).status, 201);
  const customer = (await call('POST', '/api/v1/tokens', adminToken, { kind: 'customer', owner: 'globex' })).body.token as string;

  // HTTP: the API's 303 points at the file host's own address.
  const { artifacts } = (await call('GET', '/api/v1/downloads', customer)).body as { artifacts: { artifactId: number; sha256: string }[] };
  t.is(artifacts.length, 1);
  const redirect = await call('GET', `/api/v1/artifacts/${artifacts[0]!.artifactId}/download`, customer);
  t.is(redirect.status, 303, redirect.text);
  const location = new URL(redirect.headers.get('location')!);
  t.is(location.host, `${topology.addresses.file}:${topology.ports.fileHttp}`);
  const viaHttp = await within(
    fetch(location).then(async (res) => ({ status: res.status, digest: await sha256Of(Readable.fromWeb(res.body! as never)) })),
    STEP_MS,
    'the HTTP download from the file host',
  );
  t.is(viaHttp.status, 200);
  t.deepEqual(viaHttp.digest, { sha256: artifact.sha256, size: SIZE });

  // FTP (passive data connections to the file host's address) and SFTP, at the staged locations.
  const staged = await call('POST', '/api/v1/stagings', customer, { product: 'acme-db', version: '1.0.0' });
  t.is(staged.status, 201, staged.text);
  const ftpUrl = new URL(staged.body.ftpUrl as string);
  const sftpUrl = new URL(staged.body.sftpUrl as string);
  t.is(ftpUrl.host, `${topology.addresses.file}:${topology.ports.ftp}`);
  t.is(sftpUrl.host, `${topology.addresses.file}:${topology.ports.sftp}`);
  const viaFtp = await promisify(execFile)(
    'curl',
    ['-sS', '--fail', '--max-time', '30', '-o', '-', `ftp://globex:${encodeURIComponent(PASSWORD)}@${ftpUrl.host}${ftpUrl.pathname}acme-db-1.0.0.tar.gz`],
    { encoding: 'buffer', maxBuffer: SIZE + MiB },
  );
  t.deepEqual(await sha256Of(Readable.from([viaFtp.stdout])), { sha256: artifact.sha256, size: SIZE });
  const { sftp, close } = await within(
    sftpConnect({ host: sftpUrl.hostname, port: Number(sftpUrl.port), username: 'globex', password: PASSWORD }),
    STEP_MS,
    'the SFTP login',
  );
  try {
    t.deepEqual(await within(sha256Of(sftp.createReadStream(`${sftpUrl.pathname}acme-db-1.0.0.tar.gz`)), STEP_MS, 'the SFTP download'), {
      sha256: artifact.sha256,
      size: SIZE,
    });
  } finally {
    close();
  }

  // The file host's audit reaches the internal host only through the web host.
  let events: { protocol: string; bytes: number }[] = [];
  await waitFor(
    async () => {
      events = (await call('GET', '/api/v1/audit?customer=globex&outcome=complete', adminToken)).body.events as typeof events;
      return events.length >= 3;
    },
    15_000,
    'three complete downloads in the audit',
  );
  t.deepEqual(events.map((e) => e.protocol).sort(), ['ftp', 'http', 'sftp']);
}

/**
 * A probe's expected result. `timeout` (no answer at all) is the firewall dropping: with the route
 * there (same switch) and no rule, a closed port would answer ECONNREFUSED at once.
 */
type Expect = { from: string | undefined; label: string; host: string; port: number; result: 'connected' | 'timeout' };

async function checkProbes(t: ExecutionContext, probes: Expect[]): Promise<void> {
  const results = await Promise.all(probes.map((p) => probeTcp(p.from, p.host, p.port)));
  t.log(probes.map((p, i) => `${p.label}: ${results[i]}`).join('\n'));
  probes.forEach((p, i) => t.is(results[i], p.result, `${p.label} (${p.host}:${p.port}) should be ${p.result === 'timeout' ? 'dropped' : 'open'}`));
}

function firewallProbes(topology: Topology): Expect[] {
  const { addresses: at, ports, namespaces: ns } = topology;
  const customer = undefined;
  const probes: Expect[] = [
    // The customer side reaches the web host's HTTP and the file host's four services …
    { from: customer, label: 'customer → web HTTP', host: at.web, port: ports.webHttp, result: 'connected' },
    { from: customer, label: 'customer → file HTTP', host: at.file, port: ports.fileHttp, result: 'connected' },
    { from: customer, label: 'customer → FTP control', host: at.file, port: ports.ftp, result: 'connected' },
    { from: customer, label: 'customer → SFTP', host: at.file, port: ports.sftp, result: 'connected' },
    // … and nothing else: not the internal host at any port, not the web host's commlink ports.
    { from: customer, label: 'customer → internal-db commlink', host: at.internal, port: ports.internalCommlink, result: 'timeout' },
    { from: customer, label: 'customer → internal host, another port', host: at.internal, port: 22, result: 'timeout' },
    { from: customer, label: 'customer → internal host, the web port', host: at.internal, port: ports.webHttp, result: 'timeout' },
    { from: customer, label: 'customer → web commlink', host: at.web, port: ports.webCommlink, result: 'timeout' },
    { from: customer, label: 'customer → web host, a closed port', host: at.web, port: 9, result: 'timeout' },
    { from: customer, label: 'customer → web dial port', host: at.web, port: ports.dial, result: 'timeout' },
    // The file host reaches the web host's commlink, never the internal host.
    { from: ns.file, label: 'file → web commlink', host: at.web, port: ports.webCommlink, result: 'connected' },
    { from: ns.file, label: 'file → internal-db commlink', host: at.internal, port: ports.internalCommlink, result: 'timeout' },
    { from: ns.file, label: 'file → internal host, another port', host: at.internal, port: 22, result: 'timeout' },
    { from: ns.file, label: 'file → web dial port', host: at.web, port: ports.dial, result: 'timeout' },
    // The web host's commlink port takes the file host only.
    { from: ns.internal, label: 'internal → web commlink', host: at.web, port: ports.webCommlink, result: 'timeout' },
  ];
  if (topology.internalMode === 'listen') {
    probes.push({ from: ns.web, label: 'web → internal-db commlink (listen mode)', host: at.internal, port: ports.internalCommlink, result: 'connected' });
  } else {
    // Reverse dial: the internal host takes nothing inbound, not even from the web host.
    probes.push({
      from: ns.web,
      label: 'web → internal host (dial mode: nothing inbound)',
      host: at.internal,
      port: ports.internalCommlink,
      result: 'timeout',
    });
    probes.push({ from: ns.web, label: 'web → internal host, another port (dial mode)', host: at.internal, port: 22, result: 'timeout' });
  }
  return probes;
}

/**
 * The file host's bag (from its own data directory, which holds no other) dialled at the internal-db's
 * commlink port: the handshake fails, and the internal-db logs that the peer uses another key bag.
 */
async function fileHostBagIsRefused(t: ExecutionContext, topology: Topology, work: string, internal: HostProcess): Promise<void> {
  const bag = await linkBag(join(work, 'file'), 'fileHost');
  const intruder = new CommlinkClient({
    host: topology.addresses.internal,
    port: topology.ports.internalCommlink,
    bag,
    log: silentLogger,
    reconnectMinMs: 60_000,
    reconnectMaxMs: 60_000,
  });
  try {
    const refused = new Promise<{ code?: string } | undefined>((resolve) =>
      intruder.once('reconnecting', (e: { error?: { code?: string } }) => resolve(e.error)),
    );
    void intruder.connect(30_000).catch(() => {});
    const error = await refused;
    t.is(error?.code, Errors.HANDSHAKE.code, 'the file host bag cannot complete a handshake with the internal-db');
    t.false(intruder.connected);
    await waitFor(() => internal.output().includes('peer uses another key bag'), 10_000, 'the internal-db to log the refusal');
  } finally {
    await intruder.close(0);
  }
}

for (const mode of ['listen', 'dial'] as const) {
  test.serial(
    `three hosts (internal-db ${mode} mode): a customer downloads over HTTP, FTP and SFTP across the firewall, which lets through only what each host needs`,
    async (t) => {
      t.timeout(170_000);
      const { topology, processes, adminToken, work, webUrl } = await startThreeHosts(t, mode);
      const web = processes.find((p) => p.role === 'web')!;
      t.true(web.output().includes('internal-db connected'), 'the web host sees the internal-db');
      await runTheFlow(t, topology, adminToken, work, webUrl);
      await checkProbes(t, firewallProbes(topology));
      // The system still works after the probes.
      t.is((await fetch(`${webUrl}/readyz`, { signal: AbortSignal.timeout(STEP_MS) })).status, 200);
      // The control: without its rules the internal host answers at once (a refusal), so what dropped
      // the probes above was the firewall, not a missing route.
      await nftIn(topology.namespaces.internal, ['flush', 'ruleset']);
      t.is(await probeTcp(undefined, topology.addresses.internal, 22), 'ECONNREFUSED', 'with the rules flushed, the internal host is reachable (and refuses)');
      if (mode === 'listen') {
        // With the firewall gone, the file host's key bag still opens no commlink to the internal-db.
        const internal = processes.find((p) => p.role === 'internal')!;
        await fileHostBagIsRefused(t, topology, work, internal);
      }
      // Each service stops cleanly.
      t.deepEqual(await Promise.all(processes.map((p) => p.stop())), [0, 0, 0]);
    },
  );
}
