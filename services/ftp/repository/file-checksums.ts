import type { Stats } from 'node:fs';
import { LRUCache } from 'lru-cache';
import type { ChecksumAlgorithm } from './checksum-algorithms.js';
import { DigestIndex } from './digest-index.js';

type FileIdentity = Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>;

export interface FileChecksumsOptions {
  /** The SHA-256 of a file by its inode (the repository's: known for every object, hashed once otherwise). */
  sha256Of: (path: string, stats: FileIdentity) => Promise<string>;
  /** Hashes a file by another algorithm, off the main thread (the hash pool). */
  hashFile: (path: string, algorithm: ChecksumAlgorithm) => Promise<string>;
  /** Checksums remembered (by object and algorithm). */
  maxEntries?: number;
}

/**
 * The checksums clients ask of a file (`rclone check`, FTP `HASH`, SSH `sha256sum`): by the object,
 * not the path. Every staged file is a hard link to a repository object, so a checksum taken once
 * serves every customer's copy; SHA-256 is the repository's own (never read again); SHA-1 and MD5
 * are read once per object in the hash pool and remembered. Concurrent requests for the same
 * object share one read.
 */
export class FileChecksums {
  readonly #o: FileChecksumsOptions;
  readonly #known: LRUCache<string, string>;
  readonly #pending = new Map<string, Promise<string>>();

  constructor(options: FileChecksumsOptions) {
    this.#o = options;
    this.#known = new LRUCache({ max: options.maxEntries ?? 100_000 });
  }

  async of(path: string, stats: FileIdentity, algorithm: ChecksumAlgorithm): Promise<string> {
    if (algorithm === 'sha256') return this.#o.sha256Of(path, stats);
    const key = `${DigestIndex.key(stats)}:${algorithm}`;
    const known = this.#known.get(key);
    if (known) return known;
    let pending = this.#pending.get(key);
    if (!pending) {
      pending = this.#o.hashFile(path, algorithm).finally(() => this.#pending.delete(key));
      this.#pending.set(key, pending);
    }
    const hex = await pending;
    this.#known.set(key, hex);
    return hex;
  }
}
