import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { CipherSuite, SuiteKey } from './suite.js';

const IV_LENGTH = 8;
const BLOCK = 8;
const MAC_LENGTH = 32;
const ENC_KEY_LENGTH = 24;

interface DesKey extends SuiteKey {
  readonly encKey: Buffer;
  readonly macKey: Buffer;
}

/** HMAC-SHA-256 over header || IV || ciphertext (encrypt-then-MAC). The header holds the
 *  sequence number, so the MAC covers it. */
function mac(key: DesKey, header: Buffer, ivAndCiphertext: Buffer): Buffer {
  return createHmac('sha256', key.macKey).update(header).update(ivAndCiphertext).digest();
}

/** Seal with a given IV. Only the test vectors fix the IV; packets always use a random one. */
export function sealWithIv(key: SuiteKey, header: Buffer, plaintext: Buffer, iv: Buffer): Buffer {
  const k = key as DesKey;
  const cipher = createCipheriv('des-ede3-cbc', k.encKey, iv);
  const sealed = Buffer.concat([iv, cipher.update(plaintext), cipher.final()]);
  return Buffer.concat([sealed, mac(k, header, sealed)]);
}

/**
 * Legacy suite for peers that need the DES family: triple DES (EDE, three keys) in CBC mode with
 * PKCS#7 padding and a random IV, then HMAC-SHA-256. Never the default; enable it explicitly.
 */
export const desEde3CbcHmac: CipherSuite = {
  id: 0x02,
  name: 'des-ede3-cbc-hmac-sha256',
  keyLength: ENC_KEY_LENGTH + 32,
  keyLimited: true,
  overhead: IV_LENGTH + BLOCK + MAC_LENGTH,

  prepare(material: Buffer): DesKey {
    return {
      suite: 'des-ede3-cbc-hmac-sha256',
      encKey: Buffer.from(material.subarray(0, ENC_KEY_LENGTH)),
      macKey: Buffer.from(material.subarray(ENC_KEY_LENGTH)),
    };
  },

  seal(key: SuiteKey, _seq: bigint, header: Buffer, plaintext: Buffer): Buffer {
    return sealWithIv(key, header, plaintext, randomBytes(IV_LENGTH));
  },
  sealParts(key: SuiteKey, seq: bigint, header: Buffer, plaintext: readonly Buffer[]): Buffer[] {
    return [desEde3CbcHmac.seal(key, seq, header, plaintext.length === 1 ? plaintext[0]! : Buffer.concat(plaintext))];
  },

  open(key: SuiteKey, _seq: bigint, header: Buffer, body: Buffer): Buffer | null {
    const k = key as DesKey;
    const sealedLength = body.length - MAC_LENGTH;
    if (sealedLength < IV_LENGTH + BLOCK || (sealedLength - IV_LENGTH) % BLOCK !== 0) return null;
    const sealed = body.subarray(0, sealedLength);
    const expected = mac(k, header, sealed);
    if (!timingSafeEqual(expected, body.subarray(sealedLength))) return null;
    const decipher = createDecipheriv('des-ede3-cbc', k.encKey, sealed.subarray(0, IV_LENGTH));
    try {
      return Buffer.concat([decipher.update(sealed.subarray(IV_LENGTH)), decipher.final()]);
    } catch {
      return null; // bad padding after a valid MAC: only a peer bug can cause it
    }
  },
};
