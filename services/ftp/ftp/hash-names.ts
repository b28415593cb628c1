import type { ChecksumAlgorithm } from '../repository/checksum-algorithms.js';

/**
 * The checksums FTP offers: HASH (draft-bryan-ftpext-hash-02) under their IANA names, selected
 * with OPTS HASH, and the older one-algorithm commands (XSHA256, XSHA1, XMD5: ProFTPD's
 * mod_digest, FileZilla Server, SFTPGo). SHA-256 is the default: the repository knows it of every
 * object, so it costs no read.
 */
export const FTP_HASHES = Object.freeze([
  { name: 'SHA-256', algorithm: 'sha256', command: 'XSHA256' },
  { name: 'SHA-1', algorithm: 'sha1', command: 'XSHA1' },
  { name: 'MD5', algorithm: 'md5', command: 'XMD5' },
] as const satisfies readonly { name: string; algorithm: ChecksumAlgorithm; command: string }[]);

export type FtpHash = (typeof FTP_HASHES)[number];

export const DEFAULT_HASH: FtpHash = FTP_HASHES[0];

/** The FEAT line: every algorithm, `*` marking the selected one (`HASH SHA-256*;SHA-1;MD5`). */
export function hashFeature(selected: FtpHash): string {
  return `HASH ${FTP_HASHES.map((h) => `${h.name}${h === selected ? '*' : ''}`).join(';')}`;
}

/** An algorithm by its IANA name (case-insensitive), as OPTS HASH names it. */
export function hashNamed(name: string): FtpHash | undefined {
  return FTP_HASHES.find((h) => h.name.toLowerCase() === name.toLowerCase());
}
