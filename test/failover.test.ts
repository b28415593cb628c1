/**
 * Failover between two file hosts sharing one repository: the web host watches both by heartbeat;
 * when the one serving a download dies (SIGKILL: its sockets close) or freezes (SIGSTOP: only the
 * heartbeat notices), it stages and links on the other, and the customer resumes there (HTTP Range,
 * FTP REST, SFTP offset) to a byte-identical file. Every service runs as a real process.
 */
import test, { type ExecutionContext } from 'ava';
import { Client } from 'basic-ftp';
import { createHash, randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { get, request, type IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import type { SFTPWrapper } from 'ssh2';
import { apiAt, uploadFile, writeRandomFile, type ApiAnswer } from './helpers/api.js';
import { fileHostEnv, startBackbone, startService, tail, type Backbone, type ServiceProcess } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';
import { readRemote, sftpConnect } from './helpers/sftp.js';

const MiB = 1024 * 1024;
const SIZE = 48 * MiB;
/** How much of the file arrives before the host serving it dies. */
const CUT = 8 * MiB;
const PASSWORD = 'correct horse battery';
const HOSTS = ['file-a', 'file-b'] as const;
const RELEASE = { product: 'acme-db', version: '1.0.0' };
/** FTP passive ports: this file's region (32000-32767, below the ephemeral range), 20 per test. */
const PASSIVE_BASE = 32_000 + Math.floor(Math.random() * 12) * 60;
let nextPassive = PASSIVE_BASE;

interface HostInfo {
  name: string;
  httpUrl: string;
  ftpUrl: string | null;
  sftpUrl: string | null;
}

type Answer = ApiAnswer;

interface Cluster extends Backbone {
  hosts: Map<string, ServiceProcess>;
  /** Where each file host serves, as it registered. */
  urls: Map<string, HostInfo>;
  admin: string;
  vendor: string;
  customer: string;
  artifact: { id: number; sha256: string; filename: string; path: string };
  api(method: string, path: string, options?: { token?: string; json?: unknown }): Promise<Answer>;
  /** The file hosts the web host has now (admin API). */
  live(): Promise<string[]>;
  /** Everything the processes logged, for a failure message. */
  logs(): string;
}

/**
 * The internal-db, the web host and two file hosts (file-a first, so it is the longest connected
 * and the one picked), each a process; the two share `repository/` and have areas of their own.
 * A vendor publishes SIZE random bytes through the API; the customer globex is entitled.
 */
async function startCluster(t: ExecutionContext): Promise<Cluster> {
  const backbone = await startBackbone(t);
  const { dataDir, webUrl, call } = backbone;
  const api = (method: string, path: string, options: { token?: string; json?: unknown } = {}): Promise<Answer> =>
    apiAt(webUrl, method, path, { ...options, timeoutMs: 30_000 });
  const admin = (await call('token.create', { kind: 'admin' })).token as string;
  const listHosts = async () => ((await api('GET', '/api/v1/file-hosts', { token: admin })).body.fileHosts as HostInfo[]) ?? [];
  const hosts = new Map<string, ServiceProcess>();
  const logs = () => [backbone.db, backbone.web, ...hosts.values()].map((p) => tail(p)).join('\n');
  for (const name of HOSTS) {
    const passive = nextPassive;
    nextPassive += 10;
    hosts.set(
      name,
      startService(t, name, 'file-host', {
        ...fileHostEnv(backbone, passive),
        FFS_SERVICES__FTP__NAME: name,
        FFS_SERVICES__FTP__REPOSITORY_DIR: join(dataDir, 'repository'),
        FFS_SERVICES__FTP__AREAS_DIR: join(dataDir, name, 'areas'),
        FFS_SERVICES__FTP__INBOX_DIR: join(dataDir, name, 'inbox'),
      }),
    );
    await waitFor(
      async () => (await listHosts()).some((h) => h.name === name),
      30_000,
      () => `${name} to register\n${logs()}`,
    );
  }
  const urls = new Map((await listHosts()).map((h) => [h.name, h]));

  // The vendor publishes through the API: the upload goes to one file host, into the shared repository.
  await call('vendor.create', { name: 'Acme Software' });
  const vendor = (await call('token.create', { kind: 'vendor', owner: 'Acme Software' })).token as string;
  const { path: artifactPath, sha256 } = await writeRandomFile(join(dataDir, 'artifact.bin'), SIZE);
  const filename = 'acme-db-1.0.0.iso';
  const ok = (answer: Answer, status: number) => {
    if (answer.status !== status) throw new Error(`expected ${status}, got ${answer.status}: ${JSON.stringify(answer.body)}`);
    return answer;
  };
  ok(await api('POST', '/api/v1/products', { token: vendor, json: { code: RELEASE.product, name: 'Acme DB' } }), 201);
  ok(await api('POST', `/api/v1/products/${RELEASE.product}/releases`, { token: vendor, json: { version: RELEASE.version } }), 201);
  const upload = await uploadFile(
    `${webUrl}/api/v1/products/${RELEASE.product}/releases/${RELEASE.version}/artifacts/${filename}`,
    vendor,
    artifactPath,
    SIZE,
    { 'x-checksum-sha256': sha256 },
  );
  if (upload.status !== 201) throw new Error(`upload: ${upload.status} ${JSON.stringify(upload.body)}\n${logs()}`);
  ok(await api('POST', `/api/v1/products/${RELEASE.product}/releases/${RELEASE.version}/publish`, { token: vendor }), 200);
  ok(await api('POST', '/api/v1/customers', { token: admin, json: { login: 'globex', name: 'Globex Corp', password: PASSWORD } }), 201);
  ok(await api('POST', '/api/v1/customers/globex/entitlements', { token: admin, json: { product: RELEASE.product } }), 201);
  const customer = ok(await api('POST', '/api/v1/tokens', { token: admin, json: { kind: 'customer', owner: 'globex' } }), 201).body.token as string;
  const { artifacts } = (await api('GET', '/api/v1/downloads', { token: customer })).body as { artifacts: { artifactId: number }[] };
  const id = artifacts[0]!.artifactId;
  return {
    ...backbone,
    hosts,
    urls,
    admin,
    vendor,
    customer,
    artifact: { id, sha256, filename, path: `/${RELEASE.product}/${RELEASE.version}/${filename}` },
    api,
    live: async () => (await listHosts()).map((h) => h.name).sort(),
    logs,
  };
}

/** The customer stages the release (POST /api/v1/stagings), which must succeed: the answer names the host. */
async function stageRelease(t: ExecutionContext, cluster: Cluster): Promise<Answer> {
  const staged = await cluster.api('POST', '/api/v1/stagings', { token: cluster.customer, json: RELEASE });
  t.is(staged.status, 201, JSON.stringify(staged.body));
  return staged;
}

function other(name: string): string {
  return name === HOSTS[0] ? HOSTS[1] : HOSTS[0];
}

/** Waits until the web host has dropped `dead` and lists only the survivor (admin API and /readyz). */
async function waitDropped(cluster: Cluster, dead: string): Promise<void> {
  const survivor = other(dead);
  await waitFor(
    async () => (await cluster.live()).join() === survivor,
    20_000,
    () => `the web host to drop ${dead}\n${cluster.logs()}`,
  );
  const ready = await cluster.api('GET', '/readyz');
  if (ready.status !== 200 || (ready.body.fileHosts as string[]).join() !== survivor) throw new Error(`/readyz: ${JSON.stringify(ready.body)}`);
}

/**
 * After the failure, everything the web host hands out names the survivor: links (JSON and 303),
 * stagings (with their FTP and SFTP locations), again and again.
 */
async function assertOnlySurvivor(t: ExecutionContext, cluster: Cluster, survivor: string): Promise<void> {
  const where = cluster.urls.get(survivor)!;
  for (let n = 0; n < 3; n++) {
    const link = await cluster.api('GET', `/api/v1/artifacts/${cluster.artifact.id}/link`, { token: cluster.customer });
    t.is(link.status, 200, JSON.stringify(link.body));
    t.is(link.body.host, survivor);
    t.true((link.body.url as string).startsWith(`${where.httpUrl}/files/`), link.body.url as string);
    const redirect = await cluster.api('GET', `/api/v1/artifacts/${cluster.artifact.id}/download`, { token: cluster.customer });
    t.is(redirect.status, 303);
    t.true(redirect.headers.get('location')!.startsWith(`${where.httpUrl}/files/`));
    const staged = await stageRelease(t, cluster);
    t.is(staged.body.host, survivor);
    t.true((staged.body.ftpUrl as string).startsWith(where.ftpUrl!.replace('://', '://globex@')));
    t.true((staged.body.sftpUrl as string).startsWith(where.sftpUrl!.replace('://', '://globex@')));
  }
  t.deepEqual(await cluster.live(), [survivor]);
}

/** GET with node:http (no pooled sockets), resolving once the response head is in. */
function httpGet(url: string, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => get(url, { headers, agent: false }, resolve).on('error', reject));
}

/** Reads the body until at least `bytes` arrived, then pauses it: what was read is what the customer has. */
function readSome(res: IncomingMessage, bytes: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      chunks.push(chunk);
      size += chunk.length;
      if (size >= bytes) {
        res.pause();
        res.off('data', onData);
        resolve(Buffer.concat(chunks));
      }
    };
    res.on('data', onData);
    res.on('error', reject);
    res.on('end', () => reject(new Error(`the body ended after ${size} bytes`)));
  });
}

function sha256(...parts: Buffer[]): string {
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return hash.digest('hex');
}

test.serial(
  'HTTP: the host serving a download freezes (SIGSTOP); a staging in flight to it fails over, new links name the survivor, and a Range request there completes the file byte-identical',
  async (t) => {
    const cluster = await startCluster(t);
    const link = await cluster.api('GET', `/api/v1/artifacts/${cluster.artifact.id}/link`, { token: cluster.customer });
    t.is(link.status, 200, JSON.stringify(link.body));
    const first = link.body.host as string;
    const survivor = other(first);
    t.is(first, HOSTS[0], 'the longest-connected file host is picked');
    const res = await httpGet(link.body.url as string);
    t.is(res.statusCode, 200);
    const head = await readSome(res, CUT);

    // The host freezes: its sockets stay open, so only the heartbeat can tell.
    cluster.hosts.get(first)!.signal('SIGSTOP');
    const frozenAt = Date.now();
    const inFlight = await stageRelease(t, cluster);
    t.is(inFlight.body.host, survivor, 'the staging sent to the frozen host was done on the survivor');
    t.true(Date.now() - frozenAt < 15_000, 'it failed over at the heartbeat timeout, not at the request timeout');
    t.true(cluster.web.log().includes('staging failed over'), 'the web host asked the frozen host first, then the survivor');
    res.destroy(); // the customer gives up on the stalled download
    await waitDropped(cluster, first);

    // The customer asks again: a link on the survivor, and resumes from what it has.
    const again = await cluster.api('GET', `/api/v1/artifacts/${cluster.artifact.id}/link`, { token: cluster.customer });
    t.is(again.status, 200, JSON.stringify(again.body));
    t.is(again.body.host, survivor);
    const rest = await httpGet(again.body.url as string, { range: `bytes=${head.length}-` });
    t.is(rest.statusCode, 206);
    t.is(rest.headers['content-range'], `bytes ${head.length}-${SIZE - 1}/${SIZE}`);
    const tailBytes = Buffer.concat(await rest.toArray());
    t.is(head.length + tailBytes.length, SIZE);
    t.is(sha256(head, tailBytes), cluster.artifact.sha256, 'the joined bytes are the file');

    // Tickets bind the customer, the path and the expiry, not a host: the first link's ticket opens
    // the same file on the survivor once it is staged there.
    const moved = new URL(link.body.url as string);
    const onSurvivor = await httpGet(`${cluster.urls.get(survivor)!.httpUrl}${moved.pathname}${moved.search}`, { range: 'bytes=0-1023' });
    t.is(onSurvivor.statusCode, 206);
    onSurvivor.resume();

    await assertOnlySurvivor(t, cluster, survivor);
  },
);

test.serial(
  'FTP: the host serving a RETR is killed (SIGKILL); the web host drops it at once, stages on the survivor, and REST + RETR there completes the file byte-identical',
  async (t) => {
    const cluster = await startCluster(t);
    const staged = await stageRelease(t, cluster);
    const first = staged.body.host as string;
    const survivor = other(first);
    const before = new URL(staged.body.ftpUrl as string);
    t.is(before.username, 'globex');

    const client = new Client(20_000);
    t.teardown(() => client.close());
    await client.access({ host: before.hostname, port: Number(before.port), user: 'globex', password: PASSWORD });
    const head = new CuttingSink(CUT, () => cluster.hosts.get(first)!.signal('SIGKILL'));
    const cutOff = await client.downloadTo(head, cluster.artifact.path).then(
      () => false,
      () => true,
    );
    t.true(cutOff, 'the transfer was cut off');
    await cluster.hosts.get(first)!.exited;
    await waitDropped(cluster, first);

    const restaged = await stageRelease(t, cluster);
    t.is(restaged.body.host, survivor);
    const after = new URL(restaged.body.ftpUrl as string);
    t.not(after.port, before.port);
    t.is(after.pathname, before.pathname);
    const resumed = new Client(20_000);
    t.teardown(() => resumed.close());
    await resumed.access({ host: after.hostname, port: Number(after.port), user: 'globex', password: PASSWORD });
    const rest = new CuttingSink(Infinity, () => {});
    await resumed.downloadTo(rest, cluster.artifact.path, head.size); // REST <offset>, then RETR
    t.is(head.size + rest.size, SIZE);
    t.is(sha256(...head.chunks, ...rest.chunks), cluster.artifact.sha256, 'the joined bytes are the file');

    await assertOnlySurvivor(t, cluster, survivor);
  },
);

test.serial(
  'SFTP: the host serving a read freezes (SIGSTOP); after the heartbeat drops it the customer logs in to the survivor and reads from the offset to a byte-identical file',
  async (t) => {
    const cluster = await startCluster(t);
    const staged = await stageRelease(t, cluster);
    const first = staged.body.host as string;
    const survivor = other(first);
    const before = new URL(staged.body.sftpUrl as string);

    const session = await sftpConnect({ port: Number(before.port), username: 'globex', password: PASSWORD });
    const head = await readSftp(session.sftp, cluster.artifact.path, CUT);
    cluster.hosts.get(first)!.signal('SIGSTOP');
    session.client.destroy();
    await waitDropped(cluster, first);

    const restaged = await stageRelease(t, cluster);
    t.is(restaged.body.host, survivor);
    const after = new URL(restaged.body.sftpUrl as string);
    const resumed = await sftpConnect({ port: Number(after.port), username: 'globex', password: PASSWORD });
    t.teardown(() => resumed.close());
    const rest = await readRemote(resumed.sftp, cluster.artifact.path, head.length);
    t.is(head.length + rest.length, SIZE);
    t.is(sha256(head, rest), cluster.artifact.sha256, 'the joined bytes are the file');

    await assertOnlySurvivor(t, cluster, survivor);
  },
);

test.serial(
  'an upload in flight to a file host that freezes is answered 503 ERR_GATEWAY_UNAVAILABLE at the heartbeat timeout, never hangs; the next upload goes to the survivor, which stages and serves it',
  async (t) => {
    const cluster = await startCluster(t);
    const release = `/api/v1/products/${RELEASE.product}/releases/1.1.0`;
    t.is((await cluster.api('POST', `/api/v1/products/${RELEASE.product}/releases`, { token: cluster.vendor, json: { version: '1.1.0' } })).status, 201);
    const size = 16 * MiB;
    const content = randomBytes(size);
    const put = request(`${cluster.webUrl}${release}/artifacts/acme-db-1.1.0.iso`, {
      method: 'PUT',
      agent: false,
      headers: { authorization: `Bearer ${cluster.vendor}`, 'content-type': 'application/octet-stream', 'content-length': String(size) },
    });
    put.on('error', () => {}); // the web host may stop reading once it has answered
    const answered = new Promise<{ status: number; body: Record<string, unknown> }>((resolve) =>
      put.on('response', (res) => {
        void res
          .toArray()
          .then((chunks) => resolve({ status: res.statusCode ?? 0, body: JSON.parse(Buffer.concat(chunks).toString() || '{}') as Record<string, unknown> }));
      }),
    );
    await new Promise<void>((resolve) => put.write(content.subarray(0, 4 * MiB), () => resolve()));
    // The web host relays uploads to the longest-connected file host: file-a. It freezes mid-upload.
    cluster.hosts.get(HOSTS[0])!.signal('SIGSTOP');
    const frozenAt = Date.now();
    put.end(content.subarray(4 * MiB));
    const refused = await answered;
    put.destroy();
    t.is(refused.status, 503, JSON.stringify(refused.body));
    t.is((refused.body.error as { code?: string } | undefined)?.code, 'ERR_GATEWAY_UNAVAILABLE', JSON.stringify(refused.body));
    t.regex((refused.body.error as { message: string }).message, /file host file-a did not answer/);
    t.true(Date.now() - frozenAt < 15_000, 'answered at the heartbeat timeout');
    await waitDropped(cluster, HOSTS[0]);

    // Uploaded again: stored by the survivor, published, staged and served there.
    const file = join(cluster.dataDir, 'artifact-1.1.0.bin');
    await writeFile(file, content);
    const sha = sha256(content);
    const upload = await uploadFile(`${cluster.webUrl}${release}/artifacts/acme-db-1.1.0.iso`, cluster.vendor, file, size, { 'x-checksum-sha256': sha });
    t.is(upload.status, 201, JSON.stringify(upload.body));
    t.is((await cluster.api('POST', `${release}/publish`, { token: cluster.vendor })).status, 200);
    const { artifacts } = (await cluster.api('GET', '/api/v1/downloads', { token: cluster.customer })).body as {
      artifacts: { artifactId: number; version: string }[];
    };
    const id = artifacts.find((a) => a.version === '1.1.0')!.artifactId;
    const link = await cluster.api('GET', `/api/v1/artifacts/${id}/link`, { token: cluster.customer });
    t.is(link.body.host, HOSTS[1]);
    const res = await httpGet(link.body.url as string);
    t.is(res.statusCode, 200);
    t.is(sha256(Buffer.concat(await res.toArray())), sha);
  },
);

/** Reads `bytes` (at least) from the start of a remote file, 256 KiB at a time, in order. */
async function readSftp(sftp: SFTPWrapper, path: string, bytes: number): Promise<Buffer> {
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))));
  const chunks: Buffer[] = [];
  let offset = 0;
  while (offset < bytes) {
    const buffer = Buffer.alloc(256 * 1024);
    const got = await new Promise<number>((resolve, reject) =>
      sftp.read(handle, buffer, 0, buffer.length, offset, (err, n) => (err ? reject(err) : resolve(n))),
    );
    if (got === 0) break;
    chunks.push(buffer.subarray(0, got));
    offset += got;
  }
  return Buffer.concat(chunks);
}

/**
 * Keeps what it is given; once it holds `limit` bytes it calls `onCut` and takes nothing more (the
 * write never completes, so the transfer stalls there until the connection dies).
 */
class CuttingSink extends Writable {
  readonly chunks: Buffer[] = [];
  size = 0;
  readonly #limit: number;
  readonly #onCut: () => void;

  constructor(limit: number, onCut: () => void) {
    super();
    this.#limit = limit;
    this.#onCut = onCut;
  }

  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.size >= this.#limit) this.#onCut();
    else done();
  }
}
