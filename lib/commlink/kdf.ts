import { hkdfSync } from 'node:crypto';
import type { CipherSuite } from './suites/index.js';

/** Direction of travel: client-to-server ("c2s") or server-to-client ("s2c"). The client is the
 *  side that opened the TCP connection, whichever side serves requests. */
export type Direction = 'c2s' | 's2c';

/** The prefix of every HKDF info string: the protocol's name and version (PROTOCOL.md §4). */
const LABEL = 'FFS/2';

/**
 * Key for a hello packet: HKDF-SHA-256(ikm = bag key, salt = the sender's 16-byte hello salt,
 * info = "FFS/2 hello <dir> <suite>", length = suite.keyLength). Only holders of the bag can seal
 * or open a hello, so the key share inside it is authenticated by the bag.
 */
export function helloKeyMaterial(bagKey: Buffer, senderSalt: Buffer, dir: Direction, suite: CipherSuite): Buffer {
  return derive(bagKey, senderSalt, `${LABEL} hello ${dir} ${suite.name}`, suite.keyLength);
}

/** What both hellos contributed to a connection's data keys. */
export interface HelloTranscript {
  readonly clientSalt: Buffer;
  readonly serverSalt: Buffer;
  /** The X25519 public keys (32 bytes each) of the client's and the server's hello. */
  readonly clientShare: Buffer;
  readonly serverShare: Buffer;
}

/**
 * Key for data packets (the first of its direction; REKEY packets move to the next, see
 * nextKeyMaterial): HKDF-SHA-256(ikm = X25519 shared secret ‖ bag key, salt = client salt ‖
 * server salt ‖ client share ‖ server share, info = "FFS/2 data <dir> <suite>", length =
 * suite.keyLength). The shared secret gives forward secrecy (a bag stolen later opens no recorded
 * session: the ephemeral private keys are gone); the bag key makes the bag necessary too; fresh
 * salts and shares make every connection's keys unique.
 */
export function dataKeyMaterial(sharedSecret: Buffer, bagKey: Buffer, hellos: HelloTranscript, dir: Direction, suite: CipherSuite): Buffer {
  const salt = Buffer.concat([hellos.clientSalt, hellos.serverSalt, hellos.clientShare, hellos.serverShare]);
  return derive(Buffer.concat([sharedSecret, bagKey]), salt, `${LABEL} data ${dir} ${suite.name}`, suite.keyLength);
}

/**
 * The key that follows `material` in its direction after a REKEY packet: HKDF-SHA-256(ikm =
 * material, salt = empty, info = "FFS/2 rekey <dir> <suite>", length = suite.keyLength).
 */
export function nextKeyMaterial(material: Buffer, dir: Direction, suite: CipherSuite): Buffer {
  return derive(material, Buffer.alloc(0), `${LABEL} rekey ${dir} ${suite.name}`, suite.keyLength);
}

function derive(ikm: Buffer, salt: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'ascii'), length));
}
