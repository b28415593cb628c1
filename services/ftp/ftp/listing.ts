const pad2 = (n: number) => String(n).padStart(2, '0');

/** The body of a LIST or NLST reply: CRLF-terminated lines. */
export function listingBody(lines: readonly string[]): string {
  return lines.length === 0 ? '' : `${lines.join('\r\n')}\r\n`;
}

/** A LIST/NLST/STAT argument: its leading `ls` flags (`-la`: the letters) and the path after them. */
export interface ListArg {
  flags: string;
  path: string;
}

/** LIST/NLST/MLSD/STAT arguments: leading `ls` flags (`-la`) are taken apart from the path. */
export function parseListArg(arg: string): ListArg {
  let rest = arg.trim();
  let flags = '';
  for (let m = /^-([a-zA-Z]+)(?:\s+|$)/.exec(rest); m; m = /^-([a-zA-Z]+)(?:\s+|$)/.exec(rest)) {
    flags += m[1];
    rest = rest.slice(m[0].length);
  }
  return { flags, path: rest };
}

/** The path of a LIST/NLST/MLSD argument, its `ls` flags dropped. */
export function listPathArg(arg: string): string {
  return parseListArg(arg).path;
}

/** MDTM's and MLST's time: YYYYMMDDHHMMSS in UTC (RFC 3659). */
export function ftpTime(date: Date): string {
  const day = `${date.getUTCFullYear()}${pad2(date.getUTCMonth() + 1)}${pad2(date.getUTCDate())}`;
  return `${day}${pad2(date.getUTCHours())}${pad2(date.getUTCMinutes())}${pad2(date.getUTCSeconds())}`;
}
