import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';

/** A deterministic stream of `total` bytes, made on demand (never held whole in memory). */
export function patternStream(total: number, chunkSize = 64 * 1024, onRead?: (bytes: number) => void): Readable {
  let produced = 0;
  let counter = 0;
  return new Readable({
    highWaterMark: chunkSize,
    read() {
      if (produced >= total) {
        this.push(null);
        return;
      }
      const size = Math.min(chunkSize, total - produced);
      const chunk = Buffer.allocUnsafe(size);
      // Cheap but position-dependent content, so a lost, repeated or swapped chunk changes the hash.
      let i = 0;
      for (; i + 4 <= size; i += 4) chunk.writeUInt32LE((counter++ * 2654435761) >>> 0, i);
      for (; i < size; i++) chunk[i] = counter++ & 0xff;
      produced += size;
      onRead?.(size);
      this.push(chunk);
    },
  });
}

export async function sha256OfStream(
  stream: AsyncIterable<Buffer>,
  onChunk?: (chunk: Buffer) => Promise<void> | void,
): Promise<{ hash: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream) {
    hash.update(chunk);
    bytes += chunk.length;
    if (onChunk) await onChunk(chunk);
  }
  return { hash: hash.digest('hex'), bytes };
}
