/**
 * A cipher suite seals and opens packet bodies. Keys are derived per connection and direction
 * (see kdf.ts); a suite only knows how to use them. The header bytes are authenticated, never
 * encrypted.
 */
export interface CipherSuite {
  /** Wire identifier (packet byte 1). */
  readonly id: number;
  /** Configuration and HKDF-info name. */
  readonly name: SuiteName;
  /** Bytes of key material this suite needs from the KDF. */
  readonly keyLength: number;
  /** Bytes a sealed body adds to its plaintext at most (tag, IV, MAC, padding). */
  readonly overhead: number;
  /**
   * True for a 64-bit block cipher: the bytes sealed under one key are bounded (Sweet32; the
   * configured `desKeyLimitBytes`), and a sender moves to the next key before passing the bound
   * (PROTOCOL.md §6.3).
   */
  readonly keyLimited: boolean;
  /** Prepare a key once per direction; the result is passed to seal/open. */
  prepare(material: Buffer): SuiteKey;
  /** Returns the sealed body: what follows the header on the wire. */
  seal(key: SuiteKey, seq: bigint, header: Buffer, plaintext: Buffer): Buffer;
  /**
   * The same sealed body, as pieces in wire order, for a plaintext given as pieces: what the hot
   * path uses, so that neither the plaintext nor the body is copied into one buffer first.
   */
  sealParts(key: SuiteKey, seq: bigint, header: Buffer, plaintext: readonly Buffer[]): Buffer[];
  /** Returns the plaintext, or null when the body does not authenticate. */
  open(key: SuiteKey, seq: bigint, header: Buffer, body: Buffer): Buffer | null;
}

export type SuiteName = 'aes-256-gcm' | 'des-ede3-cbc-hmac-sha256';

/** Opaque prepared key; each suite knows its own shape. */
export interface SuiteKey {
  readonly suite: SuiteName;
}
