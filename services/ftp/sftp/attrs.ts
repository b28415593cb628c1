import type { Stats } from 'node:fs';
import type { Attributes, FileEntry } from 'ssh2';

/**
 * SFTP attributes of a file in a customer area. Everything is shown read-only, owned by no one in
 * particular (uid/gid 0 would invite confusion with root: the area's files are the service's).
 */
export function attrsOf(stats: Stats): Attributes {
  const type = stats.mode & 0o170000;
  const perms = type === 0o040000 ? 0o555 : 0o444;
  return { mode: type | perms, uid: 1000, gid: 1000, size: stats.size, atime: Math.floor(stats.mtimeMs / 1000), mtime: Math.floor(stats.mtimeMs / 1000) };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `ls -l`-style line OpenSSH's client prints for `ls -l`. */
export function longname(name: string, stats: Stats): string {
  const dir = stats.isDirectory();
  const date = stats.mtime;
  const recent = Date.now() - date.getTime() < 180 * 86_400_000;
  const clock = `${String(date.getUTCHours()).padStart(2, '0')}:${String(date.getUTCMinutes()).padStart(2, '0')}`;
  const when = `${MONTHS[date.getUTCMonth()]} ${String(date.getUTCDate()).padStart(2)} ${recent ? clock : ` ${date.getUTCFullYear()}`}`;
  return `${dir ? 'dr-xr-xr-x' : '-r--r--r--'}    1 ftp      ftp      ${String(stats.size).padStart(12)} ${when} ${name}`;
}

export function entryOf(name: string, stats: Stats): FileEntry {
  return { filename: name, longname: longname(name, stats), attrs: attrsOf(stats) as FileEntry['attrs'] };
}
