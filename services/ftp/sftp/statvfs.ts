import { statfs } from 'node:fs/promises';

/** Extensions named in the VERSION reply, with their version (OpenSSH's PROTOCOL file). */
export const ANNOUNCED_EXTENSIONS: Readonly<Record<string, string>> = Object.freeze({ 'statvfs@openssh.com': '2' });

const EXTENDED_REPLY = 201;
/** statvfs(3) f_flag bits: everything a customer sees is read-only, and nothing in it runs set-uid. */
const ST_RDONLY = 1n;
const ST_NOSUID = 2n;
/** Longest name in an area (the repository's names are far shorter). */
const NAME_MAX = 255n;

/**
 * The `statvfs@openssh.com` reply (OpenSSH PROTOCOL §4.4) for the filesystem holding `realPath`:
 * an SSH_FXP_EXTENDED_REPLY packet, length prefix included, of eleven uint64s (bsize, frsize,
 * blocks, bfree, bavail, files, ffree, favail, fsid, flag, namemax), flagged read-only. What
 * OpenSSH's `df` prints.
 */
export async function statvfsReply(reqid: number, realPath: string): Promise<Buffer> {
  const fs = await statfs(realPath, { bigint: true });
  const fields = [fs.bsize, fs.bsize, fs.blocks, fs.bfree, fs.bavail, fs.files, fs.ffree, fs.ffree, 0n, ST_RDONLY | ST_NOSUID, NAME_MAX];
  const packet = Buffer.allocUnsafe(4 + 1 + 4 + fields.length * 8);
  packet.writeUInt32BE(packet.length - 4, 0);
  packet[4] = EXTENDED_REPLY;
  packet.writeUInt32BE(reqid, 5);
  fields.forEach((value, i) => packet.writeBigUInt64BE(value, 9 + i * 8));
  return packet;
}

/** The path of a `statvfs@openssh.com` request's data (an SSH string), or undefined when malformed. */
export function statvfsPath(data: Buffer | undefined): string | undefined {
  if (!data || data.length < 4) return undefined;
  const length = data.readUInt32BE(0);
  return data.length >= 4 + length ? data.toString('utf8', 4, 4 + length) : undefined;
}
