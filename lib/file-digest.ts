import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/** A file's SHA-256 (lowercase hex) and size in bytes, taken in one read. */
export interface FileDigest {
  readonly sha256: string;
  readonly size: number;
}

/**
 * The SHA-256 and size of a file already on disk, read once. Both worker pools that hash files
 * (the crypto pool's `sha256-file` task and the file host's HashPool) run this, so a file hashes
 * the same way wherever it is hashed. Large reads (1 MiB) keep the per-chunk overhead low.
 */
export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
