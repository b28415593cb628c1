import { createHash } from 'node:crypto';
import { stat } from 'node:fs/promises';
import { sep } from 'node:path';
import type { ServerChannel } from 'ssh2';
import type { Logger } from '../../../lib/log/logger.js';
import { normalizeVirtualPath, refuseDirectoryOnly, type AreaRoot } from '../common/path-resolver.js';
import type { ChecksumAlgorithm } from '../repository/checksum-algorithms.js';
import type { FileChecksums } from '../repository/file-checksums.js';
import { splitCommandLine } from './command-line.js';
import type { HandleBudget } from './session-options.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf } from '../../../lib/errors/index.js';

/** Checksums of area files by object: the file host's FileChecksums, or in a worker its stand-in asking the file host. */
export type ChecksumSource = Pick<FileChecksums, 'of'>;

/** The commands an SSH `exec` request may run, and their algorithms. */
export const CHECKSUM_COMMANDS: Readonly<Record<string, ChecksumAlgorithm>> = Object.freeze({ sha256sum: 'sha256', sha1sum: 'sha1', md5sum: 'md5' });

/** Standard input hashed at most (`md5sum` with no file: rclone's probe sends none). */
const MAX_STDIN = 64 * 1024;

/** Exit statuses, as a shell and coreutils give them. */
const EXIT = { ok: 0, failed: 1, syntax: 2, notAllowed: 127 } as const;

export interface ChecksumCommandContext {
  customer: string;
  clientAddress: string;
  root: AreaRoot;
  checksums: ChecksumSource;
  /** The connection's open files: a running command holds one. */
  handles: HandleBudget;
  /** The connection is in use (its idle timer restarts): when a command starts and when it ends (a first SHA-1 of a large file takes a while). */
  onActivity: () => void;
  log: Logger;
}

/** What a command writes (its standard output and error) and reads (its standard input, at most `limit` bytes; undefined past it). */
interface CommandIo {
  out(text: string): void;
  err(text: string): void;
  stdin(limit: number): Promise<Buffer | undefined>;
}

/**
 * An SSH `exec` request, answered by the file host itself: `sha256sum`, `sha1sum` or `md5sum` of
 * files in the customer's area, so `rclone check` and `rclone hashsum` (sftp backend) compare
 * content, as SFTPGo offers. The output is coreutils' (`<hex>  <path as given>`; exit status 1
 * and `<cmd>: <path>: No such file or directory` on standard error for a missing file); with no
 * file, standard input is hashed (rclone's probe, `md5sum` of nothing, expects the empty input's
 * checksum). Every path goes through the customer's AreaRoot as SFTP's do (a `..` is clamped at
 * the area's root, a symlink out of it is refused), and hidden files are not there. Nothing else
 * runs: any other command, or shell syntax, ends with a non-zero status and a message on standard
 * error. The channel is always ended with an exit status.
 */
export function runChecksumCommand(channel: ServerChannel, line: string, context: ChecksumCommandContext): void {
  let closed = false;
  channel.once('close', () => (closed = true));
  channel.on('error', (err: Error) => context.log.debug('ssh command channel error', { err, customer: context.customer }));
  const io: CommandIo = {
    out: (text) => void (closed || channel.write(text)),
    err: (text) => void (closed || channel.stderr.write(text)),
    stdin: (limit) => readStdin(channel, limit),
  };
  const finish = (status: number) => {
    context.onActivity();
    if (closed) return;
    channel.exit(status);
    channel.end();
  };
  if (context.handles.open >= context.handles.max) {
    io.err(`too many files open on this connection (at most ${context.handles.max})\n`);
    return finish(EXIT.failed);
  }
  context.handles.open++;
  context.onActivity();
  run(line, io, context).then(
    (status) => {
      context.handles.open--;
      finish(status);
    },
    (err: unknown) => {
      context.handles.open--;
      context.log.error('ssh command failed', { err, customer: context.customer });
      io.err('internal error\n');
      finish(EXIT.failed);
    },
  );
}

async function run(line: string, io: CommandIo, context: ChecksumCommandContext): Promise<number> {
  const { log, customer, clientAddress } = context;
  const split = splitCommandLine(line);
  if ('refused' in split) {
    log.info('ssh command refused', { customer, clientAddress, command: line.slice(0, 200), reason: split.refused });
    io.err(`refused: ${split.refused}; only sha256sum, sha1sum and md5sum of files in your area run here\n`);
    return EXIT.syntax;
  }
  const [name = '', ...args] = split.words;
  const algorithm = Object.hasOwn(CHECKSUM_COMMANDS, name) ? CHECKSUM_COMMANDS[name] : undefined;
  if (!algorithm) {
    log.info('ssh command refused', { customer, clientAddress, command: line.slice(0, 200), reason: 'not allowed' });
    io.err(`${name || 'an empty command'}: not allowed here; only sha256sum, sha1sum and md5sum of files in your area run here\n`);
    return EXIT.notAllowed;
  }
  const files: string[] = [];
  let options = true;
  for (const arg of args) {
    if (options && arg === '--') options = false;
    else if (options && arg.startsWith('-') && arg !== '-') {
      io.err(`${name}: unrecognized option '${arg}'\n`);
      return EXIT.failed;
    } else files.push(arg);
  }
  if (files.length === 0) files.push('-');
  let status: number = EXIT.ok;
  let stdinRead = false;
  for (const file of files) {
    if (file === '-') {
      const input = stdinRead ? Buffer.alloc(0) : await io.stdin(MAX_STDIN);
      stdinRead = true;
      if (!input) {
        io.err(`${name}: -: standard input longer than ${MAX_STDIN} bytes\n`);
        status = EXIT.failed;
        continue;
      }
      io.out(`${createHash(algorithm).update(input).digest('hex')}  -\n`);
      continue;
    }
    const answer = await checksumOf(file, algorithm, context);
    if ('hex' in answer) io.out(`${answer.hex}  ${file}\n`);
    else {
      io.err(`${name}: ${file}: ${answer.error}\n`);
      status = EXIT.failed;
    }
  }
  log.debug('ssh command', { customer, clientAddress, command: name, files: files.length, status });
  return status;
}

/** The checksum of one file of the area, or coreutils' words for why not. */
async function checksumOf(file: string, algorithm: ChecksumAlgorithm, context: ChecksumCommandContext): Promise<{ hex: string } | { error: string }> {
  const { root } = context;
  try {
    if (file === '') throw FileHostErrors.NOT_FOUND('no such file: (empty)');
    const virtual = normalizeVirtualPath(file, { cwd: '/', clamp: true });
    const realPath = root.realPathOf(virtual);
    const inArea = realPath.slice(root.root.length).split(sep);
    if (virtual.split('/').some((s) => s.startsWith('.')) || inArea.some((s) => s.startsWith('.'))) throw FileHostErrors.NOT_FOUND(`no such file: ${virtual}`);
    const stats = await stat(realPath);
    if (stats.isDirectory()) return { error: 'Is a directory' };
    refuseDirectoryOnly(file); // `file/` names no file (POSIX: ENOTDIR)
    if (!stats.isFile()) throw FileHostErrors.NOT_FOUND(`not a file: ${virtual}`);
    return { hex: await context.checksums.of(realPath, stats, algorithm) };
  } catch (err) {
    const code = codeOf(err) ?? (err as NodeJS.ErrnoException).code;
    if (code === FileHostErrors.NOT_FOUND.code || code === 'ENOENT' || code === 'ENOTDIR') return { error: 'No such file or directory' };
    if (code === FileHostErrors.PATH_REFUSED.code) return { error: 'Permission denied' };
    context.log.error('ssh checksum failed', { err, customer: context.customer });
    return { error: 'Input/output error' };
  }
}

/** The channel's standard input up to its end, or undefined once past `limit` bytes. */
function readStdin(channel: ServerChannel, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    let length = 0;
    const done = (value: Buffer | undefined) => {
      channel.off('data', onData);
      channel.off('end', onEnd);
      channel.off('close', onEnd);
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      length += chunk.length;
      if (length > limit) return done(undefined);
      chunks.push(chunk);
    };
    const onEnd = () => done(Buffer.concat(chunks));
    channel.on('data', onData);
    channel.once('end', onEnd);
    channel.once('close', onEnd);
  });
}
