import { nextKeyMaterial, type Direction } from './kdf.js';
import type { CipherSuite, SuiteKey } from './suites/index.js';

/**
 * One direction of a connection (what we send, or what we receive): its data key, the KDF output
 * the key was prepared from (a chunk-crypto worker prepares its own from it), the next sequence
 * number, and the plaintext bytes sealed under the key so far (counted for key-limited suites).
 */
export class DirectionKeys {
  readonly dir: Direction;
  key: SuiteKey | undefined;
  material: Buffer | undefined;
  seq = 0n;
  used = 0;

  constructor(dir: Direction) {
    this.dir = dir;
  }

  /** Installs the key derived at the handshake (`material`, prepared for `suite`). */
  install(suite: CipherSuite, material: Buffer): void {
    this.material = material;
    this.key = suite.prepare(material);
  }

  /** Takes the next sequence number. */
  take(): bigint {
    const seq = this.seq;
    this.seq = seq + 1n;
    return seq;
  }

  /** Moves to the next key of a key-limited suite (PROTOCOL.md §6.3): every later packet is sealed with it. */
  advance(suite: CipherSuite): void {
    this.install(suite, nextKeyMaterial(this.material as Buffer, this.dir, suite));
    this.used = 0;
  }
}
