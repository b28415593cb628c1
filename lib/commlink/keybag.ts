import { createHash } from 'node:crypto';
import { Errors } from './errors.js';

export const KEY_LENGTH = 32;

/**
 * The bag of N shared keys. A connection's key is bag[P mod N], where P is the TCP port of the
 * connection's client side (the side that dialled); both ends compute it on their own, so the key
 * never crosses the wire.
 */
export class KeyBag {
  readonly #keys: readonly Buffer[];
  /** First 8 bytes of SHA-256 over all keys, concatenated in order: names the bag, reveals nothing. */
  readonly id: Buffer;

  constructor(keys: readonly Buffer[]) {
    if (keys.length < 1 || keys.length > 65536) {
      throw Errors.KEYBAG_FORMAT(`a key bag holds 1 to 65536 keys, not ${keys.length}`);
    }
    keys.forEach((key, i) => {
      if (key.length !== KEY_LENGTH) throw Errors.KEYBAG_FORMAT(`key ${i} is ${key.length} bytes, not ${KEY_LENGTH}`);
    });
    this.#keys = Object.freeze(keys.map((k) => Buffer.from(k)));
    const hash = createHash('sha256');
    for (const key of this.#keys) hash.update(key);
    this.id = hash.digest().subarray(0, 8);
  }

  get size(): number {
    return this.#keys.length;
  }

  /** Hex form of the bag id, for logs and diagnostics. */
  get idHex(): string {
    return this.id.toString('hex');
  }

  keyIndex(clientPort: number): number {
    if (!Number.isInteger(clientPort) || clientPort < 0 || clientPort > 65535) {
      throw new RangeError(`client port ${clientPort} is not a TCP port`);
    }
    return clientPort % this.#keys.length;
  }

  keyForPort(clientPort: number): Buffer {
    return this.#keys[this.keyIndex(clientPort)] as Buffer;
  }

  /** Never print the keys: inspection shows only the size and id. */
  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `KeyBag { size: ${this.size}, id: ${this.idHex} }`;
  }

  toJSON(): { size: number; id: string } {
    return { size: this.size, id: this.idHex };
  }
}
