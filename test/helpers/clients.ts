/**
 * The stock-client matrix (client-matrix-*.test.ts): one real system per test file with one large
 * release file, and the Debian clients run against it as child processes, each time-bound.
 */
import type { ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as FileHost from '../../lib/contracts/file-host/operations.js';
import { generateEd25519 } from '../../lib/ssh-keys.js';
import type { FtpServer } from '../../services/ftp/ftp/server.js';
import { startChain, type Chain } from './chain.js';
import { startFtp } from './ftp.js';
import { patternStream } from './pattern-stream.js';

export const PASSWORD = 'correct horse battery';
export const HOST = '127.0.0.1';
/** The release file: a little over 300 MiB, not a multiple of any block or segment size. */
export const BIG_SIZE = 300 * 1024 * 1024 + 12_345;
/** A child process that runs longer than this is killed and its test fails. */
export const CLIENT_TIMEOUT_MS = 90_000;

/** Teardowns of a system started in a `before` hook (ava allows `t.teardown` only in tests): run in `after.always`. */
class Teardowns {
  readonly #fns: (() => unknown)[] = [];
  teardown(fn: () => unknown): void {
    this.#fns.push(fn);
  }
  async run(): Promise<void> {
    for (const fn of this.#fns.splice(0).reverse()) await fn();
  }
}

export interface Matrix {
  chain: Chain;
  size: number;
  hashes: { sha256: string; sha1: string; md5: string };
  /** The file's virtual path: /acme-db/1.0.0/acme-db-1.0.0.tar.gz */
  path: string;
  filename: string;
  /** The customer's signed HTTP download URL of the file. */
  url: string;
  ftp?: FtpServer;
  sftpPort?: number;
  /** An OpenSSH private key file registered for the customer (with `sftp`). */
  keyFile?: string;
  /** A temp dir for the clients' downloads and settings; each test takes a folder of its own in it (workDir). */
  dir: string;
  close(): Promise<void>;
}

/**
 * Passive ports of the matrix's FTP server: 19000-19999, below the FTP test files' regions
 * (test/helpers/ftp.ts: 20000-28999) and the start tests' (29000-29999).
 */
function matrixPassiveRange(): { passivePortMin: number; passivePortMax: number } {
  const min = 19_000 + Math.floor(Math.random() * 18) * 50;
  return { passivePortMin: min, passivePortMax: min + 49 };
}

/**
 * The chain with one published, staged release file of BIG_SIZE deterministic bytes (streamed in,
 * never held in memory), a customer with a password and an entitlement; FTP (with TLS) and SFTP
 * (one worker process, as deployed) when asked.
 */
export async function startMatrix(options: { ftp?: boolean; sftp?: boolean } = {}): Promise<Matrix> {
  const teardowns = new Teardowns();
  // The chain's helpers only call t.teardown: here it is run by close().
  const t = teardowns as unknown as ExecutionContext;
  const close = async () => {
    for (const kill of running) kill();
    await teardowns.run();
  };
  try {
    const chain = await startChain(t, options.sftp ? { fileHost: { sftp: { port: 0, hostKey: generateEd25519().private, workers: 1 } } } : {});
    const dir = await mkdtemp(join(tmpdir(), 'ffs-matrix-'));
    teardowns.teardown(() => rm(dir, { recursive: true, force: true }));

    // The file is written into the file host's inbox and ingested there (faster than streaming it in over the commlink).
    const digests = { sha256: createHash('sha256'), sha1: createHash('sha1'), md5: createHash('md5') };
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, cb) {
        for (const d of Object.values(digests)) d.update(chunk);
        cb(null, chunk);
      },
    });
    await pipeline(patternStream(BIG_SIZE, 1024 * 1024), hashing, createWriteStream(join(chain.fileDir, 'inbox', 'big.tar.gz')));
    await chain.call('vendor.create', { name: 'Acme Software' });
    await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
    const stored = await chain.web.fileHosts.ask(chain.web.fileHosts.pick(), FileHost.ingestInbox, { name: 'big.tar.gz', size: BIG_SIZE });
    const hashes = { sha256: digests.sha256.digest('hex'), sha1: digests.sha1.digest('hex'), md5: digests.md5.digest('hex') };
    if (stored.objectId !== hashes.sha256) throw new Error(`the repository stored ${stored.objectId}, not ${hashes.sha256}`);
    const filename = 'acme-db-1.0.0.tar.gz';
    await chain.call('release.create', { product: 'acme-db', version: '1.0.0' });
    await chain.call('artifact.add', { product: 'acme-db', version: '1.0.0', filename, size: BIG_SIZE, sha256: hashes.sha256, objectId: hashes.sha256 });
    await chain.call('release.publish', { product: 'acme-db', version: '1.0.0' });
    await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
    await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
    const file = staged.files[0]!;

    const matrix: Matrix = { chain, size: BIG_SIZE, hashes, path: file.path, filename, url: file.url, dir, close };
    if (options.ftp) matrix.ftp = await startFtp(t, chain, matrixPassiveRange());
    if (options.sftp) {
      matrix.sftpPort = chain.fileHost.sftpAddress!.port;
      const key = generateEd25519('globex matrix');
      await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
      matrix.keyFile = join(dir, 'id_ed25519');
      await writeFile(matrix.keyFile, key.private);
      await chmod(matrix.keyFile, 0o600);
    }
    return matrix;
  } catch (err) {
    await close();
    throw err;
  }
}

/** A folder of the test's own under the matrix's temp dir, removed when the test ends. */
export async function workDir(t: ExecutionContext, matrix: Matrix): Promise<string> {
  const dir = await mkdtemp(join(matrix.dir, 'client-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

export interface ClientRun {
  /** The exit code (null when killed by a signal). */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Whether the run was killed for taking longer than its time limit. */
  timedOut: boolean;
}

export interface ClientOptions {
  env?: Record<string, string>;
  cwd?: string;
  input?: string;
  timeoutMs?: number;
}

/** The kill functions of the clients still running: a test process that ends (say, timed out) takes them with it. */
const running = new Set<() => void>();
process.once('exit', () => {
  for (const kill of running) kill();
});

export interface RunningClient {
  /** Kills the client and its children (its process group) with SIGKILL. */
  kill(): void;
  done: Promise<ClientRun>;
}

/**
 * Starts `command` in a process group of its own (so a kill also ends what it started: ssh under
 * sftp or lftp), killed with SIGKILL past `timeoutMs`.
 */
export function startClient(command: string, args: string[], options: ClientOptions = {}): RunningClient {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, LC_ALL: 'C', ...options.env },
    detached: true,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const kill = () => {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  running.add(kill);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs ?? CLIENT_TIMEOUT_MS);
  const keep = (chunks: Buffer[], chunk: Buffer) => {
    if (chunks.reduce((n, c) => n + c.length, 0) < 1024 * 1024) chunks.push(chunk); // the output, not a runaway download to stdout
  };
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout.on('data', (c: Buffer) => keep(out, c));
  child.stderr.on('data', (c: Buffer) => keep(err, c));
  child.stdin.on('error', () => {});
  child.stdin.end(options.input ?? '');
  const done = new Promise<ClientRun>((resolve) => {
    child.once('error', (e) => {
      clearTimeout(timer);
      running.delete(kill);
      resolve({ code: -1, signal: null, stdout: '', stderr: String(e), timedOut });
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      running.delete(kill);
      resolve({ code, signal, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString(), timedOut });
    });
  });
  return { kill, done };
}

export function runClient(command: string, args: string[], options: ClientOptions = {}): Promise<ClientRun> {
  return startClient(command, args, options).done;
}

/**
 * Checks a run ended with exit status 0, showing its output when not; then ends the test (throws),
 * as the next steps build on this one and would each wait for their own time limit.
 */
export function assertExit0(t: ExecutionContext, run: ClientRun, what: string): void {
  if (!t.is(run.code, 0, `${what} exited with ${run.code ?? run.signal}${run.timedOut ? ' (timed out)' : ''}:\n${run.stdout}\n${run.stderr}`))
    throw new Error(`${what} failed: the test stops here`);
}

/** Checks a saved file is whole: its size and SHA-256 are the published file's. */
export async function assertWhole(t: ExecutionContext, matrix: Matrix, file: string, what: string): Promise<void> {
  t.is(await sizeOf(file), matrix.size, `${what}: size`);
  t.is(await sha256File(file), matrix.hashes.sha256, `${what}: SHA-256`);
}

/**
 * Starts a (throttled) client, waits until `file` holds at least `minBytes`, kills it (SIGKILL, its
 * whole process group) and returns how much it had saved: part of the file, not all of it.
 */
export async function killPartWay(
  t: ExecutionContext,
  matrix: Matrix,
  command: string,
  args: string[],
  file: string,
  options: ClientOptions & { minBytes?: number; ready?: () => Promise<boolean> } = {},
): Promise<number> {
  const minBytes = options.minBytes ?? 8 * 1024 * 1024;
  const ready = async () => (await sizeOf(file)) >= minBytes && (!options.ready || (await options.ready()));
  const client = startClient(command, args, options);
  let ended: ClientRun | undefined;
  void client.done.then((r) => (ended = r));
  const deadline = Date.now() + 60_000;
  while (!ended && Date.now() < deadline && !(await ready())) await new Promise((r) => setTimeout(r, 25));
  client.kill();
  const run = await client.done;
  const saved = await sizeOf(file);
  t.is(run.signal, 'SIGKILL', `${command} was killed part way (it ended by itself: ${run.code}):\n${run.stdout}\n${run.stderr}`);
  t.true(saved >= minBytes && saved < matrix.size, `${command} saved part of the file before it was killed: ${saved} of ${matrix.size} bytes`);
  return saved;
}

/** rclone with an empty config file and one remote from the environment (RCLONE_CONFIG_<NAME>_…). */
export async function rcloneEnv(dir: string, remote: string, settings: Record<string, string>): Promise<{ config: string; env: Record<string, string> }> {
  const config = join(dir, 'rclone.conf');
  await writeFile(config, '');
  const obscured = settings.pass !== undefined ? (await runClient('rclone', ['obscure', settings.pass])).stdout.trim() : undefined;
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries({ ...settings, ...(obscured !== undefined ? { pass: obscured } : {}) }))
    env[`RCLONE_CONFIG_${remote.toUpperCase()}_${key.toUpperCase()}`] = value;
  return { config, env };
}

/** The version line a client prints (for the README's table and the test log). */
export async function versionOf(command: string, args = ['--version']): Promise<string> {
  const run = await runClient(command, args, { timeoutMs: 10_000 });
  return `${run.stdout}${run.stderr}`.split('\n')[0]!.trim();
}

/**
 * lftp (FTP or SFTP: `lftp` makes its arguments for a list of commands) downloads the file whole,
 * then a throttled `get` is killed part way and `get -c` resumes it; size and SHA-256 checked each
 * time. Resolves with the test's work dir.
 */
export async function lftpGetAndResume(t: ExecutionContext, matrix: Matrix, lftp: (commands: string[]) => readonly string[]): Promise<string> {
  const dir = await workDir(t, matrix);
  const file = join(dir, matrix.filename);
  assertExit0(t, await runClient('lftp', [...lftp([`get ${matrix.path} -o ${file}`])]), 'lftp get');
  await assertWhole(t, matrix, file, 'lftp get');

  const part = join(dir, 'part');
  await killPartWay(t, matrix, 'lftp', [...lftp(['set net:limit-rate 20M', `get ${matrix.path} -o ${part}`])], part);
  assertExit0(t, await runClient('lftp', [...lftp([`get -c ${matrix.path} -o ${part}`])]), 'lftp get -c');
  await assertWhole(t, matrix, part, 'lftp get -c');
  return dir;
}
