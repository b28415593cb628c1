import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext } from 'ava';
import type { Endpoints } from '../../scripts/start/endpoints.js';
import { waitFor } from './wait.js';

const startScript = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'start.js');

export interface StartedSystem {
  readonly child: ChildProcess;
  readonly dataDir: string;
  /** Everything the supervisor printed so far. */
  stdout(): string;
  /** Everything written to its standard error so far (the services' logs). */
  stderr(): string;
  readonly exited: Promise<number | null>;
  endpoints(): Promise<Endpoints>;
}

/** Runs `npm start`'s script (the supervisor) on port 0 everywhere, in a fresh data directory (or the one given), until it says it is up. */
export async function startSystem(
  t: ExecutionContext,
  passivePortMin: number,
  env: Record<string, string> = {},
  existingDataDir?: string,
): Promise<StartedSystem> {
  const dataDir = existingDataDir ?? (await mkdtemp(join(tmpdir(), 'ffs-start-')));
  const child = spawn(process.execPath, [startScript], {
    env: {
      ...process.env,
      FFS_DATA_DIR: dataDir,
      FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0',
      FFS_SERVICES__WEB__COMMLINK_PORT: '0',
      FFS_SERVICES__WEB__PORT: '0',
      FFS_SERVICES__WEB__OPS_PORT: '0',
      FFS_SERVICES__WEB__CHECK_API_RESPONSES: 'true',
      FFS_SERVICES__WEB__WORKERS: '2', // not one per core: the same processes on any machine
      FFS_SERVICES__FTP__HTTP_PORT: '0',
      FFS_SERVICES__FTP__HTTP_WORKERS: '1',
      FFS_SERVICES__FTP__SFTP_PORT: '0',
      FFS_SERVICES__FTP__SFTP_WORKERS: '1',
      FFS_SERVICES__FTP__FTP_PORT: '0',
      FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MIN: String(passivePortMin),
      FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MAX: String(passivePortMin + 99),
      FFS_LOG__LEVEL: 'warn',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    child.kill('SIGKILL'); // never left running when a test fails early (its services follow: their IPC channel closes)
    await rm(dataDir, { recursive: true, force: true });
  });
  // Its last line says it is up; an exit before that is a failure at once.
  await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`start exited (code ${String(child.exitCode)}) before it was up:\n${stdout}\n${stderr}`);
      return stdout.includes('Ctrl-C stops all three');
    },
    90_000,
    () => `start to come up:\n${stdout}\n${stderr}`,
  );
  return {
    child,
    dataDir,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    endpoints: async () => JSON.parse(await readFile(join(dataDir, 'endpoints.json'), 'utf8')) as Endpoints,
  };
}

/** True while a process with this id exists. */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
