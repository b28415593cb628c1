import type { ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2, { type ConnectConfig, type SFTPWrapper } from 'ssh2';

const runFile = promisify(execFile);

export interface SftpConnection {
  client: ssh2.Client;
  sftp: SFTPWrapper;
  close(): void;
}

/** An ssh2 SFTP client session (resolves once the sftp subsystem is open; rejects on a refused login). */
export function sftpConnect(config: ConnectConfig): Promise<SftpConnection> {
  return new Promise((resolve, reject) => {
    const client = new ssh2.Client();
    client.on('error', reject); // every error, not only the first (a refused connection may report two)
    client.once('close', () => reject(Object.assign(new Error('connection closed before the session was ready'), { level: 'closed' })));
    client.once('ready', () => {
      client.sftp((err, sftp) => {
        if (err) return reject(err);
        client.off('error', reject);
        client.on('error', () => {}); // after the session is up, errors end it; the test sees the failed call
        resolve({ client, sftp, close: () => client.end() });
      });
    });
    client.connect({ host: '127.0.0.1', readyTimeout: 10_000, ...config });
  });
}

export function readRemote(sftp: SFTPWrapper, path: string, start = 0): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const stream = sftp.createReadStream(path, { start });
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

/** Runs an SFTP call and resolves with its error code (0 when it succeeded). */
export function codeOf(call: (cb: (err?: Error | null) => void) => void): Promise<number> {
  return new Promise((resolve) => call((err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0)));
}

/**
 * OpenSSH's `sftp` client in batch mode with a key of its own: a temp dir (removed at teardown)
 * holding the private key (mode 0600) and a known_hosts file, and `openssh(batchFile)` running
 * `sftp -b` as `login` against 127.0.0.1:`port` (it rejects when the client exits non-zero).
 */
export async function opensshClient(
  t: ExecutionContext,
  options: { port: number; privateKey: string; login?: string; timeoutMs?: number },
): Promise<{ dir: string; openssh: (batch: string) => Promise<{ stdout: string; stderr: string }> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-openssh-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'id'), options.privateKey);
  await chmod(join(dir, 'id'), 0o600);
  const args = (batch: string) => [
    '-b',
    batch,
    '-P',
    String(options.port),
    '-i',
    join(dir, 'id'),
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
    '-o',
    'BatchMode=yes',
    `${options.login ?? 'globex'}@127.0.0.1`,
  ];
  // The client exits by itself when its batch is done; the timeout only guards against a hang.
  const openssh = (batch: string) => runFile('sftp', args(batch), { timeout: options.timeoutMs ?? 60_000 });
  return { dir, openssh };
}
