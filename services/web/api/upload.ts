import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { WebErrors } from '../errors.js';
import { hasBody } from '../http/body.js';
import type { WebContext } from '../http/context.js';

/**
 * Pieces are gathered up to this size before they are relayed: one commlink packet per 512 KiB
 * (under a packet's largest chunk at the default commlink.maxPacketLength), not per socket read.
 */
const RELAY_PIECE_BYTES = 512 * 1024;

/**
 * Counts the bytes of an upload as they pass and fails the stream past `limit` (for uploads that
 * declare no Content-Length), so that nothing beyond the limit is relayed. Socket reads (often
 * 16-64 KiB) are gathered into pieces of RELAY_PIECE_BYTES: each piece is one sealed commlink
 * packet, and a packet's fixed costs (seal, filter, write, credit) are then paid per 512 KiB.
 */
class UploadRelay extends Transform {
  readonly #limit: number;
  #pending: Buffer[] = [];
  #pendingBytes = 0;
  bytes = 0;

  constructor(limit: number) {
    super({ highWaterMark: RELAY_PIECE_BYTES * 4 });
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#limit) return callback(WebErrors.BODY_TOO_LARGE(`the upload is larger than ${this.#limit} bytes`, { limit: this.#limit }));
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.length;
    if (this.#pendingBytes >= RELAY_PIECE_BYTES) this.#release();
    callback();
  }

  override _flush(callback: TransformCallback): void {
    if (this.#pendingBytes > 0) this.#release();
    callback();
  }

  #release(): void {
    this.push(this.#pending.length === 1 ? this.#pending[0] : Buffer.concat(this.#pending, this.#pendingBytes));
    this.#pending = [];
    this.#pendingBytes = 0;
  }
}

export interface UploadStream {
  readonly source: Transform;
  /** Bytes read from the client so far. */
  readonly bytes: () => number;
  /** Why the client's side failed (cut off, over the limit), once it has. */
  readonly failure: () => Error | undefined;
  /** The Content-Length the client declared, if it did. */
  readonly declared: number | undefined;
}

/**
 * The request body as a stream to relay, never buffered whole: refused at once when its declared
 * length is over the limit, cut when an undeclared one goes over it, failed when the client goes
 * away before the end (the relay then aborts, and the file host keeps nothing).
 */
export function uploadStream(ctx: WebContext, limit: number): UploadStream {
  const header = ctx.get('content-length');
  const declared = header === '' ? undefined : Number(header);
  if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0))
    throw WebErrors.INVALID_INPUT('Content-Length is not a byte count', { field: 'content-length' });
  if (declared !== undefined && declared > limit) throw WebErrors.BODY_TOO_LARGE(`the upload is ${declared} bytes; at most ${limit} are accepted`, { limit });
  if (declared === 0) throw WebErrors.INVALID_INPUT('the upload is empty (Content-Length: 0): an artifact has at least one byte', { field: 'content-length' });
  if (declared === undefined && !hasBody(ctx))
    throw WebErrors.INVALID_INPUT('an upload needs a body: give Content-Length (or send it chunked)', { field: 'content-length' });
  const limiter = new UploadRelay(limit);
  let failure: Error | undefined;
  pipeline(ctx.req, limiter, (err) => {
    if (err) failure = err;
  });
  return { source: limiter, bytes: () => limiter.bytes, failure: () => failure, declared };
}
