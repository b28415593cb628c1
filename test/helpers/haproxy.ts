/**
 * Debian's haproxy run by a test with the configuration the project ships (scripts/haproxy/,
 * filled by haproxyConfig), on a free loopback port, its log on stderr and its stats socket in a
 * temporary directory (`show stat` tells what its health checks decided).
 */
import { execFile, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { promisify } from 'node:util';
import { haproxyConfig, type HaproxyOptions } from '../../scripts/haproxy/config.js';
import type { TeardownScope } from './processes.js';
import { waitFor } from './wait.js';

const run = promisify(execFile);

/** The haproxy binary on PATH (or in /usr/sbin, where Debian puts it), or undefined when it is not installed. */
export function findHaproxy(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/sbin', '/usr/local/sbin'];
  for (const dir of dirs) {
    const file = join(dir, 'haproxy');
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // not here
    }
  }
  return undefined;
}

/** A free TCP port on 127.0.0.1 (asked of the kernel, then released for haproxy to bind). */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** One row of `show stat` (the CSV's columns by name: pxname, svname, status, stot, …). */
export type StatRow = Record<string, string>;

export interface Haproxy {
  /** http(s)://127.0.0.1:<port>: where customers reach the web hosts. */
  url: string;
  port: number;
  /** The configuration it runs. */
  config: string;
  /** Its log (stderr): one line per request (option httplog), health-check transitions. */
  log(): string;
  /** Sends a command to the stats socket; resolves with the answer. */
  command(line: string): Promise<string>;
  /** `show stat`, one row per proxy and server. */
  stat(): Promise<StatRow[]>;
  /** A web host's row (backend web_hosts, server `name`). */
  server(name: string): Promise<StatRow>;
  /** Resolves once HAProxy's health checks say `name` is `status` (UP or DOWN); rejects after `timeoutMs`. */
  waitFor(name: string, status: 'UP' | 'DOWN', timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

/** Starts haproxy in front of `webHosts` (ending TLS with `tlsPemPath` when given); stopped in teardown. */
export async function startHaproxy(
  scope: TeardownScope,
  binary: string,
  webHosts: HaproxyOptions['webHosts'],
  options: { tlsPemPath?: string } = {},
): Promise<Haproxy> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-haproxy-'));
  scope.teardown(() => rm(dir, { recursive: true, force: true }));
  const socket = join(dir, 'admin.sock');
  const port = await freePort();
  const config = haproxyConfig({ bind: { host: '127.0.0.1', port }, webHosts, statsSocket: socket, log: 'stderr', ...options });
  const file = join(dir, 'haproxy.cfg');
  await writeFile(file, config);
  await run(binary, ['-c', '-q', '-f', file]).catch((err: Error & { stderr?: string }) => {
    throw new Error(`haproxy refuses the configuration: ${err.stderr ?? err.message}\n${config}`);
  });
  // -db: stay in the foreground, log to stderr; a process group of its own, killed in teardown.
  const child = spawn(binary, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let log = '';
  child.stderr.on('data', (chunk: Buffer) => {
    log += chunk.toString();
    if (log.length > 8 * 1024 * 1024) log = log.slice(-4 * 1024 * 1024);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const close = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  scope.teardown(close);

  const command = (line: string): Promise<string> =>
    new Promise((resolve, reject) => {
      const conn = connect(socket);
      let answer = '';
      conn.setEncoding('utf8');
      conn.on('connect', () => conn.end(`${line}\n`));
      conn.on('data', (chunk: string) => (answer += chunk));
      conn.on('end', () => resolve(answer));
      conn.on('error', reject);
    });
  const stat = async (): Promise<StatRow[]> => {
    const [header, ...lines] = (await command('show stat')).split('\n').filter((l) => l !== '');
    const columns = header!.replace(/^# /, '').split(',');
    return lines.map((line) => Object.fromEntries(line.split(',').map((value, i) => [columns[i] ?? String(i), value])));
  };
  const server = async (name: string): Promise<StatRow> => {
    const row = (await stat()).find((r) => r.pxname === 'web_hosts' && r.svname === name);
    if (!row) throw new Error(`haproxy has no server ${name}`);
    return row;
  };
  const url = `${options.tlsPemPath === undefined ? 'http' : 'https'}://127.0.0.1:${port}`;
  await waitFor(
    async () => {
      if (child.exitCode !== null) throw new Error(`haproxy exited (${child.exitCode}):\n${log}`);
      return (await command('show info').catch(() => '')).includes('Name: HAProxy');
    },
    10_000,
    () => `haproxy to answer on its stats socket\n${log}`,
  );
  return {
    url,
    port,
    config,
    log: () => log,
    command,
    stat,
    server,
    waitFor: (name, status, timeoutMs = 10_000) =>
      waitFor(
        async () => (await server(name)).status === status,
        timeoutMs,
        () => `haproxy to mark ${name} ${status}\n${log.slice(-3000)}`,
      ),
    close,
  };
}
