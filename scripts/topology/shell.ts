/** Runs the system tools a topology is made with (ip, nft), without a shell. */
import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/** Where the system keeps its tools, looked at before PATH. */
const SYSTEM_DIRS = ['/usr/sbin', '/sbin', '/usr/bin', '/bin', '/usr/local/sbin', '/usr/local/bin'];

/**
 * The absolute path of a system tool. npm and npx put node_modules/.bin first on PATH, where a
 * package's `nft` (@vercel/nft, a file tracer) would shadow nftables' and quietly do nothing: the
 * system directories come first, and PATH entries inside node_modules are never used.
 */
export function systemTool(name: string): string {
  const path = (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '' && !dir.split(/[\\/]/).includes('node_modules'));
  for (const dir of [...SYSTEM_DIRS, ...path]) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return name; // not found: running it reports that it is not installed
}

export class CommandError extends Error {
  override readonly name = 'CommandError';
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
    cause?: unknown,
  ) {
    super(
      `${command} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || String(cause ?? 'no message')}`,
      cause === undefined ? undefined : { cause },
    );
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
    child.on('error', (err: NodeJS.ErrnoException) =>
      reject(
        new CommandError(
          command,
          null,
          err.code === 'ENOENT' ? `${file} is not installed (not found in ${SYSTEM_DIRS.join(', ')} or on PATH)` : err.message,
          err,
        ),
      ),
    );
    child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new CommandError(command, code, stderr))));
    child.stdin.on('error', () => {}); // a tool that exits before reading its input reports through its exit code
    child.stdin.end(input ?? '');
  });
}

/** `ip args…` */
export const ip = (...args: string[]): Promise<string> => run(systemTool('ip'), args);

/** `ip netns exec <namespace> nft args…`, writing `input` (a rule set for `-f -`) to its stdin. */
export const nftIn = (namespace: string, args: string[], input?: string): Promise<string> =>
  run(systemTool('ip'), ['netns', 'exec', namespace, systemTool('nft'), ...args], input);
