import { constants, fstatSync, openSync, closeSync, realpathSync, type Stats } from 'node:fs';
import { sep } from 'node:path';
import { CONTROL_CHARS, INVISIBLE_CHARS, MAX_NAME_BYTES, PERCENT_ESCAPE } from '../../../lib/contracts/names.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';

/**
 * The one path resolver of the file host: every path a client sends (HTTP, FTP, SFTP) goes through
 * it before it touches the filesystem. It works in two steps:
 *
 * 1. `normalize`: the client's string becomes a virtual absolute path (`/a/b`) inside the area, or
 *    is refused. A `..` above the root is clamped there, as in a chroot (FTP, SFTP), or, with
 *    `clamp: false` (HTTP, where no client has a reason to send one), refused. Refused outright: NUL and other
 *    control characters, backslashes, invisible and bidirectional-control characters, residual
 *    percent-escapes (a double-encoded path; HTTP decodes exactly once before calling), names over
 *    255 bytes, paths over 4096 bytes: the file-name rule of lib/contracts/names.ts, so every name
 *    the API accepts can be served and nothing else can.
 * 2. `open`: the virtual path is joined to the root, resolved with realpath (so a symlink planted
 *    inside the area that points out of it is seen), checked to be inside the root, and opened
 *    with O_NOFOLLOW; the descriptor is what gets served, so a swap after the check changes nothing.
 *
 * Invariant: a path this returns is the root itself or below it, and has no `.`/`..` segments.
 */

export const MAX_PATH_BYTES = 4096;

function refuse(reason: string, path: string): never {
  throw FileHostErrors.PATH_REFUSED(`path refused: ${reason}`, { reason, length: path.length });
}

export interface NormalizeOptions {
  /** The virtual directory a relative path starts from. Default `/`. */
  cwd?: string;
  /** Clamp a `..` above the root at the root (true, the default) or refuse the path (false). */
  clamp?: boolean;
}

/** The virtual absolute path for `clientPath`, or ERR_PATH_REFUSED. */
export function normalizeVirtualPath(clientPath: string, options: NormalizeOptions = {}): string {
  const { cwd = '/', clamp = true } = options;
  if (typeof clientPath !== 'string') refuse('not a string', '');
  if (Buffer.byteLength(clientPath) > MAX_PATH_BYTES) refuse('too long', clientPath);
  if (CONTROL_CHARS.test(clientPath) || clientPath.includes('\\')) refuse('control character or backslash', clientPath);
  if (INVISIBLE_CHARS.test(clientPath)) refuse('invisible or bidirectional-control character', clientPath);
  if (PERCENT_ESCAPE.test(clientPath)) refuse('percent-encoded (double-encoded) characters', clientPath);
  const segments: string[] = [];
  const joined = clientPath.startsWith('/') ? clientPath : `${cwd}/${clientPath}`;
  for (const segment of joined.split('/')) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') {
      if (segments.length === 0 && !clamp) refuse('leaves the area (..)', clientPath);
      segments.pop(); // clamped: /.. is /
      continue;
    }
    if (Buffer.byteLength(segment) > MAX_NAME_BYTES) refuse('a name is too long', clientPath);
    segments.push(segment);
  }
  return `/${segments.join('/')}`;
}

/**
 * Whether a client's path can name only a directory: its last part is empty, `.` or `..` (`file/`,
 * `file/.`, `dir/..`), as POSIX reads it (`open("file/")` is ENOTDIR). Normalising drops those
 * parts, so a protocol that opens or checks a file asks this of the path the client sent.
 */
export function namesDirectoryOnly(clientPath: string): boolean {
  const last = clientPath.slice(clientPath.lastIndexOf('/') + 1);
  return last === '' || last === '.' || last === '..';
}

/** ERR_NOT_FOUND when the client's path can name only a directory (see namesDirectoryOnly): no file is found by `file/`. */
export function refuseDirectoryOnly(clientPath: string): void {
  if (namesDirectoryOnly(clientPath)) throw FileHostErrors.NOT_FOUND(`not a file: ${clientPath.slice(0, 200)}`);
}

export interface OpenedFile {
  readonly fd: number;
  readonly stats: Stats;
  /** The real path that was opened. */
  readonly realPath: string;
}

/** A customer area: the root every client path of that customer is resolved against. */
export class AreaRoot {
  readonly root: string;

  /** `root` must exist; it is resolved once (it may itself sit behind a symlink the operator made). */
  constructor(root: string) {
    this.root = realpathSync.native(root);
  }

  /** The real path of a virtual path, after symlinks, or a typed error (refused / not found). */
  realPathOf(virtualPath: string): string {
    const candidate = virtualPath === '/' ? this.root : this.root + virtualPath;
    let real: string;
    try {
      real = realpathSync.native(candidate);
    } catch (err) {
      throw notFound(err, virtualPath);
    }
    if (real !== this.root && !real.startsWith(this.root + sep)) refuse('leaves the area (symlink)', virtualPath);
    return real;
  }

  /** Opens a regular file for reading: resolved, checked, opened without following a final link. */
  openFile(virtualPath: string): OpenedFile {
    const realPath = this.realPathOf(virtualPath);
    let fd: number;
    try {
      fd = openSync(realPath, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      throw notFound(err, virtualPath);
    }
    const stats = fstatSync(fd);
    if (!stats.isFile()) {
      closeSync(fd);
      throw FileHostErrors.NOT_FOUND(`not a file: ${virtualPath}`);
    }
    return { fd, stats, realPath };
  }
}

function notFound(err: unknown, virtualPath: string): Error {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' || code === 'ENAMETOOLONG') return FileHostErrors.NOT_FOUND(`no such file: ${virtualPath}`);
  return err as Error;
}
