import type { Stats } from 'node:fs';

/**
 * What every listing of an area shows as owner, group and link count: FTP's LIST lines and STAT
 * replies, and SFTP's longname and attributes. One owner for everything (the area's files are the
 * service's, not a user's), and fixed link counts: a staged file is a hard link to a repository
 * object, so its real st_nlink is large, changes, and tells how many customers have the file.
 */
export const LISTED_OWNER = 'ftp';
export const LISTED_GROUP = 'ftp';
/** The numeric owner SFTP sends (0 would read as root). */
export const LISTED_UID = 1000;
export const LISTED_GID = 1000;
/** Link counts shown: 1 for a file, 2 for a directory (vsftpd's `ls -l` of a leaf directory). */
export const FILE_LINKS = 1;
export const DIRECTORY_LINKS = 2;
/** The size a directory is listed with (its real size depends on the filesystem). */
export const DIRECTORY_SIZE = 4096;

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * One `ls -l` line as clients parse it (vsftpd's form), for FTP LIST and SFTP's longname. Everything
 * is shown read-only (r--/r-x): that is what a session may do, whatever the modes on disk. Times
 * are UTC; older than six months (or in the future by as much) shows the year instead of the time.
 */
export function lsLine(name: string, stats: Stats, now = Date.now()): string {
  const dir = stats.isDirectory();
  const mode = dir ? 'dr-xr-xr-x' : '-r--r--r--';
  const links = dir ? DIRECTORY_LINKS : FILE_LINKS;
  const mtime = stats.mtime;
  const day = `${MONTHS[mtime.getUTCMonth()]} ${String(mtime.getUTCDate()).padStart(2, ' ')}`;
  const recent = Math.abs(now - mtime.getTime()) < SIX_MONTHS_MS;
  const when = recent ? `${pad2(mtime.getUTCHours())}:${pad2(mtime.getUTCMinutes())}` : ` ${mtime.getUTCFullYear()}`;
  const size = dir ? DIRECTORY_SIZE : stats.size;
  return `${mode} ${String(links).padStart(4)} ${LISTED_OWNER.padEnd(8)} ${LISTED_GROUP.padEnd(8)} ${String(size).padStart(12)} ${day} ${when} ${name}`;
}
