import { pipeline, Transform, type TransformCallback } from 'node:stream';
import { WebErrors } from '../errors.js';
import type { WebContext } from '../http/context.js';

/**
 * Counts the bytes of an upload as they pass and fails the stream past `limit` (for uploads that
 * declare no Content-Length), so that nothing beyond the limit is relayed.
 */
class UploadLimit extends Transform {
  readonly #limit: number;
  bytes = 0;

  constructor(limit: number) {
    super({ highWaterMark: 1024 * 1024 });
    this.#limit = limit;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.#limit) callback(WebErrors.BODY_TOO_LARGE(`the upload is larger than ${this.#limit} bytes`, { limit: this.#limit }));
    else callback(null, chunk);
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
  if (declared !== undefined && !(Number.isSafeInteger(declared) && declared >= 0)) throw WebErrors.INVALID_INPUT('Content-Length is not a byte count', { field: 'content-length' });
  if (declared !== undefined && declared > limit) throw WebErrors.BODY_TOO_LARGE(`the upload is ${declared} bytes; at most ${limit} are accepted`, { limit });
  if (declared === 0) throw WebErrors.INVALID_INPUT('the upload is empty (Content-Length: 0): an artifact has at least one byte', { field: 'content-length' });
  if (declared === undefined && ctx.get('transfer-encoding') === '') throw WebErrors.INVALID_INPUT('an upload needs a body: give Content-Length (or send it chunked)', { field: 'content-length' });
  const limiter = new UploadLimit(limit);
  let failure: Error | undefined;
  pipeline(ctx.req, limiter, (err) => {
    if (err) failure = err;
  });
  return { source: limiter, bytes: () => limiter.bytes, failure: () => failure, declared };
}
