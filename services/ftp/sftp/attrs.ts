import type { Stats } from 'node:fs';
import type { Attributes, FileEntry } from 'ssh2';
import { LISTED_GID, LISTED_UID, lsLine } from '../common/ls-line.js';

/**
 * SFTP attributes of a file in a customer area. Everything is shown read-only, owned by the one
 * listed owner (common/ls-line.ts: the same as FTP's listings).
 */
export function attrsOf(stats: Stats): Attributes {
  const type = stats.mode & 0o170000;
  const perms = type === 0o040000 ? 0o555 : 0o444;
  return {
    mode: type | perms,
    uid: LISTED_UID,
    gid: LISTED_GID,
    size: stats.size,
    atime: Math.floor(stats.mtimeMs / 1000),
    mtime: Math.floor(stats.mtimeMs / 1000),
  };
}

/** The `ls -l`-style line OpenSSH's client prints for `ls -l`: the same line as FTP's LIST. */
export function longname(name: string, stats: Stats): string {
  return lsLine(name, stats);
}

export function entryOf(name: string, stats: Stats): FileEntry {
  return { filename: name, longname: longname(name, stats), attrs: attrsOf(stats) as FileEntry['attrs'] };
}
