/** Runs the system tools a topology is made with (ip, nft), without a shell. */
import { spawn } from 'node:child_process';

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    cause?: unknown,
  ) {
    super(`${command} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || String(cause ?? 'no message')}`, cause === undefined ? undefined : { cause });
  }
}

/** Runs `file args…`, writing `input` to its stdin; resolves with its stdout, rejects with CommandError. */
export function run(file: string, args: readonly string[], input?: string): Promise<string> {
  const command = [file, ...args].join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.on('error', (err: NodeJS.ErrnoException) => reject(new CommandError(command, null, err.code === 'ENOENT' ? `${file} is not installed (not found on PATH)` : err.message, err)));
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new CommandError(command, code, stderr))));
    child.stdin.on('error', () => {}); // a tool that exits before reading its input reports through its exit code
    child.stdin.end(input ?? '');
  });
}

/** `ip args…` */
export const ip = (...args: string[]): Promise<string> => run('ip', args);
