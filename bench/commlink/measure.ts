import { connect as tlsConnect } from 'node:tls';
import { Readable } from 'node:stream';
import type { CommlinkClient } from '../../lib/commlink/index.js';

/** Fixed, named parameters: change them here, never per run. */
export const PARAMS = Object.freeze({
  runs: 5,
  serialSeconds: 2,
  pipelinedSeconds: 2,
  pipelineDepth: 10_000,
  bulkBytes: 512 * 1024 * 1024,
  bulkChunkBytes: 256 * 1024,
  requestBody: { user: 'acme', proto: 'sftp', client: '203.0.113.7' },
});

/** Sequential request → reply, one at a time: round trips per second. */
export async function serialRoundTrips(client: CommlinkClient, seconds: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let count = 0;
  const started = performance.now();
  while (performance.now() < end) {
    await client.request('echo', PARAMS.requestBody);
    count++;
  }
  return count / ((performance.now() - started) / 1000);
}

/** Batches of `depth` requests in flight at once: requests per second. */
export async function pipelined(client: CommlinkClient, seconds: number, depth: number): Promise<number> {
  const end = performance.now() + seconds * 1000;
  let count = 0;
  const started = performance.now();
  while (performance.now() < end) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < depth; i++) batch.push(client.request('echo', PARAMS.requestBody, { timeoutMs: 120_000 }));
    await Promise.all(batch);
    count += depth;
  }
  return count / ((performance.now() - started) / 1000);
}

/** A source that repeats one buffer: measures the link, not data generation. */
function repeatSource(total: number, chunkBytes: number): Readable {
  const block = Buffer.alloc(chunkBytes, 0x5a);
  let left = total;
  return new Readable({
    highWaterMark: chunkBytes,
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, chunkBytes);
      left -= n;
      this.push(n === chunkBytes ? block : block.subarray(0, n));
    },
  });
}

/** One bulk stream of `total` bytes: MB/s (10^6 bytes per second). */
export async function bulk(client: CommlinkClient, total: number, chunkBytes: number): Promise<number> {
  const started = performance.now();
  const reply = await client.request('ingest', {}, { stream: repeatSource(total, chunkBytes), timeoutMs: 600_000 });
  if (reply.bytes !== total) throw new Error(`bulk: server got ${String(reply.bytes)} of ${total} bytes`);
  return total / 1e6 / ((performance.now() - started) / 1000);
}

/** The same bytes over TLS 1.3 with AES-256-GCM: the peer for bulk throughput. */
export async function tlsBulk(port: number, total: number, chunkBytes: number): Promise<number> {
  const started = performance.now();
  const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const reply = new Promise<string>((resolve) => {
    let text = '';
    socket.on('data', (c: Buffer) => (text += c.toString()));
    socket.on('end', () => resolve(text));
  });
  for await (const chunk of repeatSource(total, chunkBytes)) {
    if (!socket.write(chunk)) await new Promise((r) => socket.once('drain', r));
  }
  socket.end();
  const got = Number(await reply);
  if (got !== total) throw new Error(`tls bulk: server got ${got} of ${total} bytes`);
  return total / 1e6 / ((performance.now() - started) / 1000);
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The round-trip peer: one JSON line at a time over TLS 1.3, echoed; round trips per second. */
export async function tlsSerialRoundTrips(port: number, seconds: number): Promise<number> {
  const socket = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false });
  socket.setNoDelay(true);
  await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
  const line = JSON.stringify({ type: 'echo', id: 1, body: PARAMS.requestBody }) + '\n';
  let pending = '';
  let waiting: (() => void) | undefined;
  socket.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const nl = pending.indexOf('\n');
    if (nl !== -1) {
      JSON.parse(pending.slice(0, nl));
      pending = pending.slice(nl + 1);
      waiting?.();
    }
  });
  const started = performance.now();
  const end = started + seconds * 1000;
  let count = 0;
  while (performance.now() < end) {
    await new Promise<void>((resolve) => {
      waiting = resolve;
      socket.write(line);
    });
    count++;
  }
  socket.destroy();
  return count / ((performance.now() - started) / 1000);
}
