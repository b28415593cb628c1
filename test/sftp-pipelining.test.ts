/**
 * SFTP under pipelining: every request answered exactly once whatever the order of READ and
 * CLOSE, a client that sends reads far ahead of what it takes slowed down (never cut off) with
 * the server's memory bounded, a hang-up with reads pending logged as one info line, and
 * `statvfs@openssh.com` for OpenSSH's `df`. Real servers, real clients (a raw packet writer over
 * ssh2, paramiko, OpenSSH's sftp).
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash, pbkdf2, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { createLogger } from '../lib/log/logger.js';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { publish, startChain, waitFor, type Chain } from './helpers/chain.js';
import { patternStream, sha256OfStream } from './helpers/pattern-stream.js';
import { FXP, RawSftp, type RawReply } from './helpers/sftp-raw.js';
import { opensshClient } from './helpers/sftp.js';
import type { FileHostOptions } from '../services/ftp/service.js';

const run = promisify(execFile);
const hostKey = generateEd25519().private;
const PASSWORD = 'correct horse battery';
const { STATUS_CODE } = ssh2.utils.sftp;

interface LogLine {
  level: string;
  msg: string;
  [field: string]: unknown;
}

interface Setup {
  chain: Chain;
  port: number;
  path: string;
  size: number;
  sha256: string;
  lines: LogLine[];
}

/**
 * A chain with SFTP, one staged file of `size` bytes (random below 64 MiB, a pattern streamed in
 * above), and the whole chain's log captured.
 */
async function setup(t: ExecutionContext, size: number, fileHost: Partial<FileHostOptions> = {}): Promise<Setup> {
  const lines: LogLine[] = [];
  const log = createLogger({ level: 'debug', write: (line) => lines.push(JSON.parse(line) as LogLine) });
  const chain = await startChain(t, { log, fileHost: { sftp: { port: 0, hostKey }, ...fileHost } });
  let sha256: string;
  if (size < 64 * 1024 * 1024) {
    const content = randomBytes(size);
    sha256 = createHash('sha256').update(content).digest('hex');
    await publish(chain, '1.0.0', content);
  } else {
    sha256 = (await sha256OfStream(patternStream(size))).hash;
    await publishStream(chain, size, sha256);
  }
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  return { chain, port: chain.fileHost.sftpAddress!.port, path: staged.files[0]!.path, size, sha256, lines };
}

/** publish() for a file too big to hold: the pattern streamed into the repository. */
async function publishStream(chain: Chain, size: number, sha256: string): Promise<void> {
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  const stored = await chain.web.fulfillment.ingest(patternStream(size), { size, sha256 });
  await chain.call('release.create', { product: 'acme-db', version: '1.0.0' });
  const objectId = stored.objectId as string;
  await chain.call('artifact.add', { product: 'acme-db', version: '1.0.0', filename: 'acme-db-1.0.0.tar.gz', size, sha256: objectId, objectId });
  await chain.call('release.publish', { product: 'acme-db', version: '1.0.0' });
}

async function auditEvents(chain: Chain, count: number): Promise<{ outcome: string; bytes: number }[]> {
  let events: { outcome: string; bytes: number }[] = [];
  await waitFor(
    async () => {
      events = (await chain.call('audit.query', { customer: 'globex', protocol: 'sftp', limit: 500 })).events as typeof events;
      return events.length >= count;
    },
    20_000,
    () => `${count} sftp audit events (${events.length} so far)`,
  );
  return events;
}

/** Lines at warn or error level (what an operator is paged for). */
function loud(lines: LogLine[]): LogLine[] {
  return lines.filter((l) => l.level === 'warn' || l.level === 'error');
}

function sha256File(path: string): Promise<string> {
  return sha256OfStream(createReadStream(path)).then((r) => r.hash);
}

test.serial(
  '64 READs then CLOSE on one handle, 30 rounds: every request answered exactly once, the READs before the CLOSE, a READ after it refused',
  async (t) => {
    const size = 1024 * 1024 + 77;
    const { chain, port, path, lines } = await setup(t, size);
    const raw = await RawSftp.connect({ port, username: 'globex', password: PASSWORD });
    t.teardown(() => raw.end());
    const expectedBytes: number[] = [];
    let busy: Promise<void>[] = [];
    for (let round = 0; round < 30; round++) {
      const handle = await raw.open(path);
      const length = [32 * 1024, 64 * 1024, 16 * 1024 + 3][round % 3]!;
      // Reads from `start` in order to past the end: the file is read to its end (64 × 16 KiB ≥ 1 MiB).
      const start = round % 5 === 0 ? 0 : (round * 98_765) % size;
      // Every other round the disk thread pool is kept busy: the server's file reads wait there, so the
      // CLOSE comes while they are still to run (a loaded server).
      if (round % 2 === 1) busy = Array.from({ length: 8 }, () => promisify(pbkdf2)('x', 'y', 200_000, 32, 'sha256').then(() => {}));
      const reads: number[] = [];
      for (let i = 0; i < 64; i++) reads.push(raw.read(handle, start + i * length, length));
      const close = raw.close(handle);
      const after = raw.read(handle, start, length);
      expectedBytes.push(Math.min(size - start, 64 * length));
      await waitFor(
        () => [...reads, close, after].every((id) => raw.replies.has(id)),
        20_000,
        () => `round ${round}: ${[...reads, close, after].filter((id) => !raw.replies.has(id)).length} of 66 requests never answered`,
      );
      await new Promise((r) => setImmediate(r)); // a duplicate reply would come in the same turn or soon after
      for (const id of [...reads, close, after]) t.is(raw.replies.get(id)!.length, 1, `round ${round}: request ${id} answered once`);
      const readReplies = reads.map((id) => raw.replies.get(id)![0]!);
      t.true(
        readReplies.every((r) => r.type === FXP.DATA || (r.type === FXP.STATUS && r.code === STATUS_CODE.EOF)),
        `round ${round}: every READ before the CLOSE got its data or EOF`,
      );
      t.is(
        readReplies.filter((r) => r.type === FXP.DATA).reduce((sum, r) => sum + r.dataLength!, 0),
        Math.min(size - start, 64 * length),
        `round ${round}: bytes`,
      );
      t.is(raw.replies.get(close)![0]!.code, STATUS_CODE.OK, `round ${round}: CLOSE ok`);
      t.true(
        reads.every((id) => raw.replies.get(id)![0]!.seq < raw.replies.get(close)![0]!.seq),
        `round ${round}: the READs sent before the CLOSE are answered before it`,
      );
      const refused: RawReply = raw.replies.get(after)![0]!;
      t.is(refused.code, STATUS_CODE.FAILURE, `round ${round}: a READ after the CLOSE is refused`);
      await Promise.all(busy);
    }
    t.deepEqual(loud(lines), [], 'nothing logged at warn or error');
    const events = await auditEvents(chain, 30);
    t.deepEqual(
      events.map((e) => e.outcome),
      Array<string>(30).fill('complete'),
    );
    t.deepEqual(
      events.map((e) => e.bytes).sort((a, b) => a - b),
      expectedBytes.sort((a, b) => a - b),
    );
  },
);

test.serial(
  '100,000 READs sent while the client takes no reply: the server stops taking requests (the client waits to send), its memory stays bounded; then every one is answered, no disconnect',
  async (t) => {
    const size = 8 * 1024 * 1024;
    const { port, path, lines } = await setup(t, size);
    const raw = await RawSftp.connect({ port, username: 'globex', password: PASSWORD });
    t.teardown(() => raw.end());
    const handle = await raw.open(path);
    const memory = () => process.memoryUsage().arrayBuffers; // replies are Buffers (the test's client runs in this process too)
    const before = memory();
    raw.channel.pause(); // the client stops taking replies: its window to the server shuts
    // 100,000 READs are 4.4 MB of requests, twice the server's 2 MiB window: a server that stops
    // taking them leaves the last ones waiting at the client.
    const COUNT = 100_000;
    const READ = 2 * 1024;
    const ids: number[] = [];
    for (let i = 0; i < COUNT; i++) ids.push(raw.read(handle, (i * READ) % size, READ));
    // The server is given time to take what it will; what it holds meanwhile is bounded (a server that
    // queued every reply would hold 100,000 × 2 KiB = 195 MiB).
    let peak = 0;
    for (let i = 0; i < 20; i++) {
      await new Promise((r) => setTimeout(r, 50));
      peak = Math.max(peak, memory() - before);
    }
    t.log(`Buffers grew by at most ${(peak / 1024 / 1024).toFixed(1)} MiB while paused (from ${(before / 1024 / 1024).toFixed(1)} MiB)`);
    t.true(peak < 64 * 1024 * 1024, `Buffers grew by ${peak} bytes while the client took nothing`);
    t.true(raw.channel.writableLength > 0, 'the client waits to send the rest: the server stopped taking requests');
    t.false(raw.closed, 'not cut off while paused');
    raw.channel.resume();
    const resumed = performance.now();
    await waitFor(
      () => ids.every((id) => raw.replies.has(id)) || raw.closed,
      60_000,
      () => `${COUNT} replies (${ids.filter((id) => raw.replies.has(id)).length} so far)`,
    );
    t.log(`all answered ${((performance.now() - resumed) / 1000).toFixed(1)} s after the client took replies again`);
    await new Promise((r) => setImmediate(r)); // a duplicate would come with the last ones
    t.false(raw.closed, 'not disconnected');
    const wrong = ids.filter((id) => raw.replies.get(id)?.length !== 1 || raw.replies.get(id)![0]!.type !== FXP.DATA);
    t.deepEqual(
      wrong.slice(0, 5).map((id) => raw.replies.get(id)),
      [],
      `every READ got its data, once (${wrong.length} did not)`,
    );
    t.deepEqual(loud(lines), [], 'nothing logged at warn or error');
  },
);

test.serial(
  'a client that hangs up with reads pending: one info line (customer, address, pending count), no warn or error line; the file audited as aborted',
  async (t) => {
    const size = 4 * 1024 * 1024;
    const { chain, port, path, lines } = await setup(t, size);
    const raw = await RawSftp.connect({ port, username: 'globex', password: PASSWORD });
    const handle = await raw.open(path);
    raw.channel.pause();
    const READ = 32 * 1024;
    for (let i = 0; i < 2000; i++) raw.read(handle, (i * READ) % size, READ);
    // Once the server's window to the client is full (2 MiB of replies sent, not taken), it holds replies and queues reads.
    await waitFor(() => raw.channel.readableLength >= 1024 * 1024, 10_000, 'the client to hold a megabyte it has not taken');
    raw.socket.destroy();
    const events = await auditEvents(chain, 1);
    t.is(events[0]!.outcome, 'aborted');
    await waitFor(
      () => lines.some((l) => l.msg === 'sftp client went away with requests pending'),
      10_000,
      () => `the hang-up logged (lines: ${JSON.stringify(lines.filter((l) => l.level !== 'debug').slice(-5))})`,
    );
    await new Promise((r) => setTimeout(r, 200)); // what the reads still running would log
    t.deepEqual(loud(lines), [], 'nothing logged at warn or error');
    const info = lines.filter((l) => l.msg === 'sftp client went away with requests pending');
    t.is(info.length, 1);
    t.is(info[0]!.level, 'info');
    t.is(info[0]!.customer, 'globex');
    t.is(info[0]!.clientAddress, '127.0.0.1');
    t.true((info[0]!.pending as number) > 0, `pending ${String(info[0]!.pending)}`);
  },
);

async function opensshDir(
  t: ExecutionContext,
  chain: Chain,
): Promise<{ dir: string; openssh: (batch: string) => Promise<{ stdout: string; stderr: string }> }> {
  const key = generateEd25519('globex laptop');
  await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
  return opensshClient(t, { port: chain.fileHost.sftpAddress!.port, privateKey: key.private });
}

test.serial('OpenSSH sftp batch: `df` and `df -h` print the area filesystem (statvfs@openssh.com), then `get` succeeds', async (t) => {
  const { chain, path, sha256 } = await setup(t, 300_000);
  const { dir, openssh } = await opensshDir(t, chain);
  const local = join(dir, 'download.tar.gz');
  await writeFile(join(dir, 'batch'), `df\ndf -h\ndf ${path}\nget ${path} ${local}\nbye\n`);
  const { stdout } = await openssh(join(dir, 'batch'));
  t.log(stdout);
  // `df`: Size Used Avail (Root) %Capacity in KiB; `df -h` the same with units.
  t.regex(stdout, /Size\s+Used\s+Avail\s+\(root\)\s+%Capacity\n\s*\d+\s+\d+\s+\d+\s+\d+\s+\d+%/);
  t.regex(stdout, /Size\s+Used\s+Avail\s+\(root\)\s+%Capacity\n\s*[\d.]+[KMGTPE]?i?B?\s+[\d.]+[KMGTPE]?i?B?\s+/);
  t.is(await sha256File(local), sha256, 'the get after df fetched the file');
});

test.serial(
  'statvfs@openssh.com is announced in VERSION and answered with the area filesystem, read-only; other unknown extensions stay OP_UNSUPPORTED',
  async (t) => {
    const { port } = await setup(t, 1000);
    const raw = await RawSftp.connect({ port, username: 'globex', password: PASSWORD });
    t.teardown(() => raw.end());
    t.is(raw.extensions['statvfs@openssh.com'], '2');
    const path = Buffer.from('/');
    const id = raw.extended('statvfs@openssh.com', Buffer.concat([Buffer.from([0, 0, 0, path.length]), path]));
    const reply = await raw.reply(id);
    t.is(reply.type, FXP.EXTENDED_REPLY);
    const fields = Array.from({ length: 11 }, (_, i) => reply.body!.readBigUInt64BE(i * 8));
    const [bsize, frsize, blocks, bfree, bavail, , , , , flag, namemax] = fields;
    t.true(bsize! > 0n && frsize! > 0n && blocks! > 0n, `bsize ${bsize}, frsize ${frsize}, blocks ${blocks}`);
    t.true(bfree! <= blocks! && bavail! <= bfree!);
    t.is(flag! & 1n, 1n, 'ST_RDONLY');
    t.true(namemax! > 0n);
    const missing = Buffer.from('/no/such/dir');
    const gone = await raw.reply(raw.extended('statvfs@openssh.com', Buffer.concat([Buffer.from([0, 0, 0, missing.length]), missing])));
    t.is(gone.code, STATUS_CODE.NO_SUCH_FILE);
    const unknown = await raw.reply(raw.extended('limits@openssh.com'));
    t.is(unknown.code, STATUS_CODE.OP_UNSUPPORTED);
  },
);

test.serial(
  'paramiko’s default SFTPClient.get() (it asks for the whole file up front) downloads 300 MiB: not cut off, byte-identical, nothing logged at warn or error',
  async (t) => {
    const size = 300 * 1024 * 1024;
    const { port, path, sha256, lines } = await setup(t, size);
    const dir = await mkdtemp(join(tmpdir(), 'ffs-paramiko-'));
    t.teardown(() => rm(dir, { recursive: true, force: true }));
    const local = join(dir, 'download.tar.gz');
    const script = [
      'import sys, paramiko',
      'transport = paramiko.Transport(("127.0.0.1", int(sys.argv[1])))',
      'transport.connect(username="globex", password=sys.argv[2])',
      'sftp = paramiko.SFTPClient.from_transport(transport)',
      'sftp.get(sys.argv[3], sys.argv[4])',
      'sftp.close()',
      'transport.close()',
    ].join('\n');
    await writeFile(join(dir, 'get.py'), script);
    const started = performance.now();
    await run('/usr/bin/python3', [join(dir, 'get.py'), String(port), PASSWORD, path, local], { timeout: 100_000 });
    t.log(`paramiko fetched 300 MiB in ${((performance.now() - started) / 1000).toFixed(1)} s`);
    t.is(await sha256File(local), sha256);
    t.deepEqual(loud(lines), [], 'nothing logged at warn or error');
  },
);
