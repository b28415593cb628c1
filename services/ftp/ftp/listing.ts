import type { Entry } from './read-only-fs.js';

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const SIX_MONTHS_MS = 182 * 24 * 3600 * 1000;

const pad2 = (n: number) => String(n).padStart(2, '0');

/**
 * One LIST line in the `ls -l` form clients parse (as vsftpd writes it). Everything is shown
 * read-only (r--/r-x): that is what the session may do, whatever the modes on disk.
 */
export function lsLine(entry: Entry, now = Date.now()): string {
  const { stats, name } = entry;
  const dir = stats.isDirectory();
  const mode = dir ? 'dr-xr-xr-x' : '-r--r--r--';
  const links = dir ? Math.max(2, stats.nlink) : 1;
  const mtime = stats.mtime;
  const day = `${MONTHS[mtime.getUTCMonth()]} ${String(mtime.getUTCDate()).padStart(2, ' ')}`;
  const recent = Math.abs(now - mtime.getTime()) < SIX_MONTHS_MS;
  const when = recent ? `${pad2(mtime.getUTCHours())}:${pad2(mtime.getUTCMinutes())}` : ` ${mtime.getUTCFullYear()}`;
  return `${mode} ${String(links).padStart(4)} ftp      ftp      ${String(dir ? 4096 : stats.size).padStart(12)} ${day} ${when} ${name}`;
}

/** The body of a LIST or NLST reply: CRLF-terminated lines. */
export function listingBody(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
}

/** LIST/NLST/MLSD arguments: leading `ls` flags (`-la`) are dropped, the rest is the path. */
export function listPathArg(arg: string): string {
  let rest = arg.trim();
  while (/^-[a-zA-Z]+(\s|$)/.test(rest)) rest = rest.replace(/^-[a-zA-Z]+\s*/, '');
  return rest;
}

/** MDTM's and MLST's time: YYYYMMDDHHMMSS in UTC (RFC 3659). */
export function ftpTime(date: Date): string {
  const day = `${date.getUTCFullYear()}${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}`;
  return `${day}${pad2(date.getUTCHours())}${pad2(date.getUTCMinutes())}${pad2(date.getUTCSeconds())}`;
}
