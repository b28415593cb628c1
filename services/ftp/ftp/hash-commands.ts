import type { Command, CommandTable } from './command.js';
import { FTP_HASHES, hashNamed, type FtpHash } from './hash-names.js';
import { ReadOnlyArea } from './read-only-fs.js';
import { oneLine } from './replies.js';
import type { FtpSession } from './session.js';

const NOT_OFFERED = 'command not supported by this server';

/**
 * A file's checksum by the same path rules as RETR (the resolver, and a regular file only: a
 * directory or a missing file is 550), from the file host's checksums by object (SHA-256 is the
 * repository's; the others are read once per object and remembered).
 */
async function checksumOf(s: FtpSession, arg: string, hash: FtpHash): Promise<{ hex: string; size: number }> {
  const area = s.area!;
  const file = area.open(area.resolveFile(arg, s.cwd));
  ReadOnlyArea.closeQuietly(file); // the object is read by its real path, in the hash pool
  return { hex: await s.options.checksums!.of(file.realPath, file.stats, hash.algorithm), size: file.stats.size };
}

/** `HASH <path>` → `213 <algorithm> <start>-<end> <hex> <path>` (the whole file: 0 to its size, as ProFTPD and SFTPGo write it). */
const hashCommand: Command = {
  auth: true,
  async run(s, arg, directive) {
    if (!s.options.checksums) return s.reply(502, `${directive}: ${NOT_OFFERED}`);
    if (arg.trim() === '') return s.reply(501, 'HASH needs a file name');
    const { hex, size } = await checksumOf(s, arg, s.hash);
    return s.reply(213, `${s.hash.name} 0-${size} ${hex} ${oneLine(arg, 4096)}`);
  },
};

/** `XSHA256 <path>` (and XSHA1, XMD5) → `250 <hex>`. */
function fixedHash(hash: FtpHash): Command {
  return {
    auth: true,
    async run(s, arg, directive) {
      if (!s.options.checksums) return s.reply(502, `${directive}: ${NOT_OFFERED}`);
      if (arg.trim() === '') return s.reply(501, `${directive} needs a file name`);
      return s.reply(250, (await checksumOf(s, arg, hash)).hex);
    },
  };
}

/** OPTS HASH: without an argument the selected algorithm, with one the algorithm HASH uses from now on. */
export async function optsHash(s: FtpSession, arg: string): Promise<void> {
  if (!s.options.checksums) return s.reply(501, 'Option not understood: HASH');
  const name = arg.trim();
  if (name === '') return s.reply(200, s.hash.name);
  const hash = hashNamed(name);
  if (!hash) return s.reply(501, `${oneLine(name, 32)}: unsupported algorithm (${FTP_HASHES.map((h) => h.name).join(', ')})`);
  s.hash = hash;
  return s.reply(200, hash.name);
}

/** HASH, XSHA256, XSHA1, XMD5: checksums of area files on the control connection. */
export const HASH_COMMANDS: CommandTable = Object.fromEntries([['HASH', hashCommand], ...FTP_HASHES.map((h) => [h.command, fixedHash(h)] as const)]);
