import { createPrivateKey, createPublicKey, diffieHellman, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { Errors } from './errors.js';

/** Bytes of an X25519 public key, private key and shared secret (RFC 7748). */
export const SHARE_LENGTH = 32;

/** DER prefixes that wrap a raw X25519 key as SPKI (public) and PKCS#8 (private). */
const SPKI_PREFIX = Buffer.from('302a300506032b656e032100', 'hex');
const PKCS8_PREFIX = Buffer.from('302e020100300506032b656e04220420', 'hex');

/**
 * One end's ephemeral X25519 key pair for one connection (PROTOCOL.md §8): the public key travels
 * in the hello, the private key never leaves this object and is dropped with the connection.
 */
export class KeyShare {
  readonly #privateKey: KeyObject;
  /** The raw 32-byte public key, as the hello's `kx` field carries it. */
  readonly publicKey: Buffer;

  /** A fresh key pair; `privateKey` (32 raw bytes) only for the test vectors. */
  constructor(privateKey?: Buffer) {
    this.#privateKey =
      privateKey === undefined
        ? generateKeyPairSync('x25519').privateKey
        : createPrivateKey({ key: Buffer.concat([PKCS8_PREFIX, privateKey]), format: 'der', type: 'pkcs8' });
    this.publicKey = Buffer.from(createPublicKey(this.#privateKey).export({ format: 'der', type: 'spki' }).subarray(SPKI_PREFIX.length));
  }

  /**
   * The X25519 shared secret with the peer's public key. A key that is not 32 bytes, or one of
   * the low-order points that would make the secret all zeros, is ERR_HANDSHAKE.
   */
  secretWith(peerPublic: Buffer): Buffer {
    if (peerPublic.length !== SHARE_LENGTH) throw Errors.HANDSHAKE(`key share of ${peerPublic.length} bytes, not ${SHARE_LENGTH}`);
    let secret: Buffer;
    try {
      const publicKey = createPublicKey({ key: Buffer.concat([SPKI_PREFIX, peerPublic]), format: 'der', type: 'spki' });
      secret = diffieHellman({ privateKey: this.#privateKey, publicKey });
    } catch (err) {
      throw Errors.HANDSHAKE("the peer's key share gives no usable X25519 secret (a low-order point)", {}, err);
    }
    if (secret.every((b) => b === 0)) throw Errors.HANDSHAKE("the peer's key share gives an all-zero X25519 secret (a low-order point)");
    return secret;
  }

  /** Never print the private key. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeyShare { public: ${this.publicKey.toString('hex')} }`;
  }
}
