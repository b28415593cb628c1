import type { Stats } from 'node:fs';
import { lsLine } from '../common/ls-line.js';
import { hasGlob } from './glob.js';
import { listPathArg, parseListArg } from './listing.js';
import { factsLine } from './mlsd.js';
import type { ReadOnlyArea } from './read-only-fs.js';
import type { FtpSession } from './session.js';

/**
 * The lines of the listings (LIST, NLST, MLSD, and STAT with a path), made before any data
 * connection is used, so a refused path gets its reply instead of an empty transfer.
 *
 * - A path is taken literally when it names something; otherwise, with `*`, `?` or `[` in it, it
 *   is a glob (glob.ts, ReadOnlyArea.glob), and each match is one line, named as the client wrote
 *   the path (`NLST acme-db/*` → `acme-db/1.0.0`, so `mget` can RETR what it gets), as `ls -d`
 *   would show it. A glob matching nothing gives `undefined` (the command answers 450, as ProFTPD).
 * - `LIST -a` of a directory starts with `.` and `..` (as vsftpd's); MLSD always has its `cdir`
 *   and `pdir` entries (RFC 3659 §7.5.1). At the root, `..` is the root (a `..` there stays there).
 */
export type ListKind = 'list' | 'nlst';

/** The 450 reply's text for a glob that matched nothing. */
export const NO_MATCH = 'No files found';

/** Whether a client's path names something as written (a `..` after a file does not). */
async function exists(area: ReadOnlyArea, clientPath: string, cwd: string): Promise<boolean> {
  try {
    await area.stat(await area.resolveThroughDirectories(clientPath, cwd));
    return true;
  } catch {
    return false;
  }
}

function parentOf(area: ReadOnlyArea, virtualPath: string): string {
  return area.resolve('..', virtualPath);
}

/** LIST (`ls -l` lines) or NLST (names) of an argument (`ls` flags, then a path or glob); undefined when a glob matched nothing. */
export async function listingLines(s: FtpSession, arg: string, kind: ListKind): Promise<string[] | undefined> {
  const area = s.area!;
  const { flags, path } = parseListArg(arg);
  if (hasGlob(path) && !(await exists(area, path, s.cwd))) {
    const matches = await area.glob(path, s.cwd);
    if (matches.length === 0) return undefined;
    return matches.map((m) => (kind === 'list' ? lsLine(m.shown, m.stats) : m.shown));
  }
  const virtualPath = await area.resolveThroughDirectories(path, s.cwd);
  const entries = await area.list(virtualPath);
  if (kind === 'nlst') return entries.map((e) => e.name);
  const lines = entries.map((e) => lsLine(e.name, e.stats));
  if (!flags.includes('a')) return lines;
  const stats = await area.stat(virtualPath);
  if (!stats.isDirectory()) return lines;
  return [lsLine('.', stats), lsLine('..', await area.stat(parentOf(area, virtualPath))), ...lines];
}

/** MLSD of a directory: its `cdir` and `pdir` entries, then one facts line per entry. */
export async function mlsdLines(s: FtpSession, arg: string): Promise<string[]> {
  const area = s.area!;
  const virtualPath = await area.directory(await area.resolveThroughDirectories(listPathArg(arg), s.cwd));
  const own: Stats = await area.stat(virtualPath);
  const parent: Stats = await area.stat(parentOf(area, virtualPath));
  const entries = await area.list(virtualPath);
  return [
    factsLine('.', own, s.mlstFacts, 'cdir'),
    factsLine('..', parent, s.mlstFacts, 'pdir'),
    ...entries.map((e) => factsLine(e.name, e.stats, s.mlstFacts)),
  ];
}
