import { hkdfSync } from 'node:crypto';
import type { CipherSuite } from './suites/index.js';

/** Direction of travel: client-to-server ("c2s") or server-to-client ("s2c"). The client is the
 *  side that opened the TCP connection, whichever side serves requests. */
export type Direction = 'c2s' | 's2c';

/**
 * Key for a hello packet: HKDF-SHA-256(ikm = bag key, salt = the sender's 16-byte hello salt,
 * info = "FFS/1 hello <dir> <suite>", length = suite.keyLength).
 */
export function helloKeyMaterial(bagKey: Buffer, senderSalt: Buffer, dir: Direction, suite: CipherSuite): Buffer {
  return derive(bagKey, senderSalt, `FFS/1 hello ${dir} ${suite.name}`, suite.keyLength);
}

/**
 * Key for data packets: HKDF-SHA-256(ikm = bag key, salt = client salt || server salt,
 * info = "FFS/1 data <dir> <suite>", length = suite.keyLength). Fresh salts from both ends make
 * every connection's keys unique, so a recorded session cannot be replayed into a new one.
 */
export function dataKeyMaterial(bagKey: Buffer, clientSalt: Buffer, serverSalt: Buffer, dir: Direction, suite: CipherSuite): Buffer {
  return derive(bagKey, Buffer.concat([clientSalt, serverSalt]), `FFS/1 data ${dir} ${suite.name}`, suite.keyLength);
}

function derive(ikm: Buffer, salt: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'ascii'), length));
}
