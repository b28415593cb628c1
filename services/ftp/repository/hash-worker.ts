import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { digestFile, type FileDigest } from '../../../lib/file-digest.js';
import type { ChecksumAlgorithm } from './checksum-algorithms.js';

/** The HashPool's worker entry: runs in the piscina pool, off the main thread. */
export default function hashFile({ path }: { path: string }): Promise<FileDigest> {
  return digestFile(path);
}

/** A file's checksum by another algorithm than the repository's (lowercase hex), read once in 1 MiB chunks. */
export async function checksumFile({ path, algorithm }: { path: string; algorithm: ChecksumAlgorithm }): Promise<string> {
  const hash = createHash(algorithm);
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
