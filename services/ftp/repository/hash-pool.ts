import { Piscina } from 'piscina';
import type { FileDigest } from '../../../lib/file-digest.js';
import type { ChecksumAlgorithm } from './checksum-algorithms.js';

/**
 * The worker pool that hashes files already on disk (an inbox file, a copy made by a staging
 * fallback), so the main thread never reads a file just to hash it.
 */
export class HashPool {
  readonly #pool: Piscina;

  constructor(options: { maxThreads?: number } = {}) {
    this.#pool = new Piscina({
      filename: new URL('./hash-worker.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: options.maxThreads ?? 2,
      idleTimeout: 30_000,
    });
  }

  hashFile(path: string): Promise<FileDigest> {
    return this.#pool.run({ path }) as Promise<FileDigest>;
  }

  /** The file's checksum by `algorithm` (lowercase hex). */
  checksumFile(path: string, algorithm: ChecksumAlgorithm): Promise<string> {
    return this.#pool.run({ path, algorithm }, { name: 'checksumFile' }) as Promise<string>;
  }

  async close(): Promise<void> {
    await this.#pool.close();
  }
}
