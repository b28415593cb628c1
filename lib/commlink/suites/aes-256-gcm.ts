import { createCipheriv, createDecipheriv } from 'node:crypto';
import type { CipherSuite, SuiteKey } from './suite.js';

const TAG_LENGTH = 16;

interface GcmKey extends SuiteKey {
  readonly key: Buffer;
}

/** Nonce: 4 zero bytes, then the 64-bit sequence number big-endian. Unique because every
 *  connection and direction has its own key (fresh salts) and seq never repeats within it. */
function nonceFor(seq: bigint): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(seq, 4);
  return nonce;
}

export const aes256gcm: CipherSuite = {
  id: 0x01,
  name: 'aes-256-gcm',
  keyLength: 32,
  keyLimited: false,
  overhead: TAG_LENGTH,

  prepare(material: Buffer): GcmKey {
    return { suite: 'aes-256-gcm', key: Buffer.from(material) };
  },

  seal(key: SuiteKey, seq: bigint, header: Buffer, plaintext: Buffer): Buffer {
    return Buffer.concat(aes256gcm.sealParts(key, seq, header, [plaintext]));
  },

  sealParts(key: SuiteKey, seq: bigint, header: Buffer, plaintext: readonly Buffer[]): Buffer[] {
    const cipher = createCipheriv('aes-256-gcm', (key as GcmKey).key, nonceFor(seq), { authTagLength: TAG_LENGTH });
    cipher.setAAD(header);
    const out = plaintext.map((part) => cipher.update(part)); // GCM is a stream mode: one output per input, same length
    const tail = cipher.final();
    if (tail.length > 0) out.push(tail);
    out.push(cipher.getAuthTag());
    return out;
  },

  open(key: SuiteKey, seq: bigint, header: Buffer, body: Buffer): Buffer | null {
    if (body.length < TAG_LENGTH) return null;
    const decipher = createDecipheriv('aes-256-gcm', (key as GcmKey).key, nonceFor(seq), { authTagLength: TAG_LENGTH });
    decipher.setAAD(header);
    decipher.setAuthTag(body.subarray(body.length - TAG_LENGTH));
    const head = decipher.update(body.subarray(0, body.length - TAG_LENGTH));
    try {
      const tail = decipher.final();
      return tail.length === 0 ? head : Buffer.concat([head, tail]);
    } catch {
      return null;
    }
  },
};
