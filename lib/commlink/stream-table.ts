import type { Readable } from 'node:stream';
import { IncomingStream, OutgoingStream } from './bulk-stream.js';
import { Errors } from './errors.js';
import type { Body } from './envelope.js';
import type { Outbox } from './outbox.js';
import type { SecureChannel } from './secure-channel.js';
import type { CodedError } from '../errors/index.js';

const MAX_STREAM_ID = 0xffffffff;

/** Data bytes per chunk packet: its line (~87 KiB of base64) stays below V8's large-object
 *  threshold, where string conversions are an order of magnitude slower (see outbox.ts). */
const CHUNK_BYTES = 64 * 1024;

/**
 * The bulk streams of one connection, both ways (PROTOCOL.md §12): ids, credit, end and abort.
 * Stream ids increase strictly in each direction, so a chunk, end or abort for an id that is not
 * open but not above the highest seen belongs to a stream already finished or abandoned (it was in
 * flight) and is dropped; no per-stream memory outlives its stream.
 */
export class StreamTable {
  readonly #incoming = new Map<number, IncomingStream>();
  readonly #outgoing = new Map<number, OutgoingStream>();
  readonly #channel: SecureChannel;
  readonly #outbox: Outbox;
  readonly #ourWindow: number;
  readonly #peerWindow: number;
  readonly #waitDrain: () => Promise<void>;
  #highestIncoming = 0;
  #nextOutgoing = 1;

  constructor(channel: SecureChannel, outbox: Outbox, ourWindow: number, peerWindow: number, waitDrain: () => Promise<void>) {
    this.#channel = channel;
    this.#outbox = outbox;
    this.#ourWindow = ourWindow;
    this.#peerWindow = peerWindow;
    this.#waitDrain = waitDrain;
  }

  /** A stream to send with a request; undefined when this connection has used every id. */
  openOutgoing(source: Readable): OutgoingStream | undefined {
    if (this.#nextOutgoing > MAX_STREAM_ID) return undefined;
    const streamId = this.#nextOutgoing++;
    const stream = new OutgoingStream(streamId, source, this.#peerWindow, {
      sendChunk: (sid, data) => {
        this.#outbox.flush(); // the request and credits go before its chunks
        return this.#channel.sendChunk(sid, data);
      },
      sendEnd: (sid, totalBytes) => this.#outbox.push({ type: 'ffs.end', attrs: { stream: String(sid) }, body: { bytes: totalBytes } }),
      sendAbort: (sid, error) => this.#pushAbort(sid, error),
      waitDrain: this.#waitDrain,
      maxChunk: Math.min(CHUNK_BYTES, this.#channel.maxPayload - 4),
    });
    this.#outgoing.set(streamId, stream);
    return stream;
  }

  /** Starts pumping; rejects only when the source fails. */
  pump(stream: OutgoingStream): Promise<void> {
    return stream.pump().finally(() => this.#outgoing.delete(stream.streamId));
  }

  /** The stream announced by a request's `stream` attribute. */
  openIncoming(attr: string): IncomingStream {
    const streamId = parseStreamId(attr);
    if (streamId <= this.#highestIncoming) {
      throw Errors.STREAM_PROTOCOL(`stream id ${streamId} does not increase (last was ${this.#highestIncoming})`);
    }
    this.#highestIncoming = streamId;
    const stream = new IncomingStream(streamId, this.#ourWindow, {
      grant: (sid, bytes) => this.#outbox.push({ type: 'ffs.credit', attrs: { stream: String(sid) }, body: { bytes } }),
      abort: (sid, error) => {
        this.#incoming.delete(sid);
        this.#pushAbort(sid, error);
      },
    });
    this.#incoming.set(streamId, stream);
    return stream;
  }

  onChunk(streamId: number, data: Buffer): void {
    const stream = this.#incoming.get(streamId);
    if (stream) stream.receive(data);
    else if (streamId > this.#highestIncoming) throw Errors.STREAM_PROTOCOL(`chunk for unknown stream ${streamId}`);
  }

  onCredit(attr: string | undefined, body: Body): void {
    const bytes = body.bytes;
    if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes <= 0) throw Errors.STREAM_PROTOCOL('credit without a positive byte count');
    this.#outgoing.get(parseStreamId(attr))?.grant(bytes);
  }

  onEnd(attr: string | undefined, body: Body): void {
    const streamId = parseStreamId(attr);
    const stream = this.#incoming.get(streamId);
    if (!stream) {
      if (streamId <= this.#highestIncoming) return; // we abandoned it
      throw Errors.STREAM_PROTOCOL(`end of unknown stream ${streamId}`);
    }
    this.#incoming.delete(streamId);
    stream.end(typeof body.bytes === 'number' ? body.bytes : -1);
  }

  /** Either the sender aborts a stream we receive, or the receiver aborts one we send. */
  onAbort(attr: string | undefined, body: Body): void {
    const streamId = parseStreamId(attr);
    const reason = Errors.STREAM_ABORTED(`stream ${streamId} aborted by the peer: ${typeof body.message === 'string' ? body.message : 'no reason'}`);
    const incoming = this.#incoming.get(streamId);
    if (incoming) {
      this.#incoming.delete(streamId);
      incoming.fail(reason);
    }
    this.#outgoing.get(streamId)?.stop(reason);
  }

  /** The connection is gone: every stream we receive fails (senders stop as their requests settle). */
  closeAll(reason: CodedError | undefined): void {
    for (const stream of this.#incoming.values()) stream.fail(Errors.STREAM_ABORTED('connection closed', {}, reason));
    this.#incoming.clear();
  }

  #pushAbort(streamId: number, error: CodedError): void {
    this.#outbox.push({ type: 'ffs.abort', attrs: { stream: String(streamId) }, body: { code: error.code, message: error.message } });
  }
}

function parseStreamId(text: string | undefined): number {
  const id = text !== undefined && /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(id >= 1 && id <= MAX_STREAM_ID)) throw Errors.STREAM_PROTOCOL(`invalid stream id "${String(text).slice(0, 20)}"`);
  return id;
}
