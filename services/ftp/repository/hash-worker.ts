import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';

/**
 * Runs in the piscina pool: the SHA-256 and size of a file already on disk, read once, off the
 * main thread. Large reads (1 MiB) keep the per-chunk overhead low.
 */
export default async function hashFile({ path }: { path: string }): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return { sha256: hash.digest('hex'), size };
}
