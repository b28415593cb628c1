import { Readable } from 'node:stream';
import { Errors } from './errors.js';
import type { CodedError } from '../errors/index.js';

/**
 * Bulk streams: a request may carry a stream of binary chunks (an upload). Flow control is by
 * credit: the receiver grants bytes, the sender never sends more than it was granted. The
 * receiver's initial grant per stream is the `window` of its hello; later grants come as
 * `ffs.credit` messages as the consumer reads. So neither side holds more than one window.
 */

/** What the receiving side needs to talk back to the sender. */
export interface IncomingStreamLink {
  grant(streamId: number, bytes: number): void;
  abort(streamId: number, error: CodedError): void;
}

/**
 * The receiving end, a Readable for the request handler. Invariant: `#outstanding` is the credit
 * granted and not yet used; a chunk larger than it is a protocol error. Buffered bytes plus
 * outstanding credit never exceed the window.
 */
export class IncomingStream extends Readable {
  readonly streamId: number;
  readonly #window: number;
  readonly #link: IncomingStreamLink;
  #outstanding: number;
  #received = 0;
  #ended = false;

  constructor(streamId: number, window: number, link: IncomingStreamLink) {
    super({ highWaterMark: window });
    this.streamId = streamId;
    this.#window = window;
    this.#link = link;
    this.#outstanding = window; // the hello's window is granted implicitly
    // A handler that never reads its stream must not crash the process when the stream fails
    // (connection lost, sender aborted): readers still see the error through iteration or pipe.
    this.on('error', () => {});
  }

  get bytesReceived(): number {
    return this.#received;
  }

  get finished(): boolean {
    return this.#ended;
  }

  /** Called by the peer for each chunk packet of this stream. */
  receive(data: Buffer): void {
    if (this.#ended) return;
    if (data.length > this.#outstanding) {
      throw Errors.STREAM_PROTOCOL(`stream ${this.streamId}: ${data.length} bytes exceed the ${this.#outstanding} bytes of credit`);
    }
    this.#outstanding -= data.length;
    this.#received += data.length;
    this.push(data);
  }

  /** The sender's `ffs.end`: checks the byte count, then ends the stream. */
  end(totalBytes: number): void {
    if (this.#ended) return;
    this.#ended = true;
    if (totalBytes !== this.#received) {
      this.destroy(Errors.STREAM_ABORTED(`stream ${this.streamId} ended after ${this.#received} bytes, sender says ${totalBytes}`));
      return;
    }
    this.push(null);
  }

  /** The sender aborted, or the connection closed. */
  fail(error: CodedError): void {
    if (this.#ended) return;
    this.#ended = true;
    this.destroy(error);
  }

  /** The handler gave up on the stream before its end: tell the sender to stop. */
  abandon(reason: string): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#link.abort(this.streamId, Errors.STREAM_ABORTED(reason));
    this.destroy();
  }

  /**
   * Credit follows consumption. Every consumer (async iteration, 'data' listeners, pipe) takes
   * data through read(), so each read is the moment bytes leave the window. _read cannot serve:
   * Readable calls it before it removes the bytes being read and then not again until a push,
   * which never comes when the sender holds no credit (a stalled upload).
   * Grant in large steps (a small grant costs a message per chunk), but always grant when the
   * sender holds nothing, or it would wait forever.
   */
  override read(size?: number): Buffer | null {
    const chunk = super.read(size) as Buffer | null;
    this.#maybeGrant();
    return chunk;
  }

  override _read(): void {
    // Data arrives by push() from receive(); see read() for where credit is granted.
  }

  #maybeGrant(): void {
    if (this.#ended) return;
    const free = this.#window - this.readableLength - this.#outstanding;
    if (free > 0 && (free >= this.#window / 2 || this.#outstanding === 0)) {
      this.#outstanding += free;
      this.#link.grant(this.streamId, free);
    }
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    if (!this.#ended) {
      this.#ended = true;
      this.#link.abort(this.streamId, Errors.STREAM_ABORTED(`stream ${this.streamId} was destroyed by its reader`));
    }
    callback(error);
  }
}

/** What the sending side needs from the connection. */
export interface OutgoingStreamLink {
  /** Sends one chunk packet; false means wait for drain. */
  sendChunk(streamId: number, data: Buffer): boolean;
  sendEnd(streamId: number, totalBytes: number): void;
  sendAbort(streamId: number, error: CodedError): void;
  /** Resolves when the socket can take more. */
  waitDrain(): Promise<void>;
  readonly maxChunk: number;
}

/**
 * The sending end: pumps a Readable into chunk packets, never beyond the credit granted and
 * never faster than the socket drains. Invariant: `#credit` >= 0, and it only grows by grants.
 */
export class OutgoingStream {
  readonly streamId: number;
  readonly #source: Readable;
  readonly #link: OutgoingStreamLink;
  #credit: number;
  #sent = 0;
  #stopped: CodedError | undefined;
  #wake: (() => void) | undefined;

  constructor(streamId: number, source: Readable, initialCredit: number, link: OutgoingStreamLink) {
    this.streamId = streamId;
    this.#source = source;
    this.#link = link;
    this.#credit = initialCredit;
  }

  get bytesSent(): number {
    return this.#sent;
  }

  grant(bytes: number): void {
    this.#credit += bytes;
    this.#wakeUp();
  }

  /** Stops the pump (receiver aborted, reply arrived, or connection closed). */
  stop(error: CodedError): void {
    if (this.#stopped) return;
    this.#stopped = error;
    this.#wakeUp();
    this.#source.destroy(); // ends a pump waiting on a slow source
  }

  /**
   * Runs until the source ends (then sends ffs.end) or the stream is stopped (resolves either
   * way). Rejects only when the source fails; the receiver is then told by ffs.abort.
   */
  async pump(): Promise<void> {
    try {
      for await (const piece of this.#source) {
        const chunk = typeof piece === 'string' ? Buffer.from(piece) : (piece as Buffer);
        let offset = 0;
        while (offset < chunk.length) {
          if (this.#stopped) {
            this.#source.destroy();
            return;
          }
          if (this.#credit === 0) {
            await new Promise<void>((resolve) => (this.#wake = resolve));
            continue;
          }
          const n = Math.min(chunk.length - offset, this.#credit, this.#link.maxChunk);
          const more = this.#link.sendChunk(this.streamId, chunk.subarray(offset, offset + n));
          this.#credit -= n;
          this.#sent += n;
          offset += n;
          if (!more) await this.#link.waitDrain();
        }
      }
      if (!this.#stopped) this.#link.sendEnd(this.streamId, this.#sent);
    } catch (err) {
      if (this.#stopped) return; // a drain wait failed because the connection closed
      const error = Errors.STREAM_ABORTED(`stream source failed: ${(err as Error)?.message ?? err}`, {}, err);
      this.#link.sendAbort(this.streamId, error);
      this.#source.destroy();
      throw error;
    }
  }

  #wakeUp(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}
