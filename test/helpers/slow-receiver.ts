import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type { ExecutionContext } from 'ava';
import type { ChunkCrypto, RequestContext } from '../../lib/commlink/index.js';
import { makeBag, makeClient, startServer } from './commlink.js';
import { patternStream, sha256OfStream } from './pattern-stream.js';

export const SLOW_RECEIVER_WINDOW = 256 * 1024;

/**
 * Sends 8 MiB to a receiver that takes 2 ms per chunk (a slow disk), with a 256 KiB stream window,
 * and measures how far the sender's source ran ahead of what the receiver had consumed. Flow
 * control holds when that stays near one window (plus one stream buffer on each side).
 */
export async function streamToSlowReceiver(
  t: ExecutionContext,
  crypto: { server?: ChunkCrypto; client?: ChunkCrypto } = {},
): Promise<{ total: number; bytes: unknown; maxAhead: number }> {
  const bag = makeBag();
  let consumed = 0;
  let produced = 0;
  let maxAhead = 0;
  const { server, port } = await startServer({
    bag,
    streamWindowBytes: SLOW_RECEIVER_WINDOW,
    chunkCrypto: crypto.server,
    handlers: {
      ingest: async (_body, ctx: RequestContext) =>
        sha256OfStream(ctx.stream as Readable, async (chunk) => {
          consumed += chunk.length;
          maxAhead = Math.max(maxAhead, produced - consumed);
          await delay(2); // a slow disk
        }),
    },
  });
  const client = makeClient({ bag, port, chunkCrypto: crypto.client });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  const total = 8 * 1024 * 1024;
  const reply = await client.request('ingest', {}, { stream: patternStream(total, 16 * 1024, (n) => (produced += n)), timeoutMs: 60_000 });
  return { total, bytes: reply.bytes, maxAhead };
}
