import type { ChunkCrypto, ChunkOpenJob, ChunkSealJob } from './chunk-crypto.js';
import { Errors } from './errors.js';
import { InOrder } from './in-order.js';
import { KIND_CHUNK, type PacketKind } from './packet.js';
import { CodedError } from '../errors/index.js';

/** What the offload needs from its channel. */
export interface OffloadLink {
  /** Writes one line to the socket. */
  write(line: Buffer): void;
  end(): void;
  /** Hands a verified packet to the channel's owner. */
  accept(kind: PacketKind, plaintext: Buffer): void;
  fail(error: CodedError): void;
  /** Tells the owner it may send again. */
  drain(): void;
  /** Every packet received so far has been delivered. */
  delivered(): void;
  pause(): void;
  resume(): void;
  /** The socket is gone: sealed lines are dropped. */
  readonly closed: boolean;
  /** A packet was refused: opened packets are dropped. */
  readonly failed: boolean;
  readonly writable: boolean;
}

interface Received {
  readonly kind: PacketKind;
  readonly plaintext: Buffer;
}

/**
 * A channel's CHUNK packets sealed and opened by a chunk-crypto hook (a worker pool), kept in
 * sequence order both ways. The channel takes sequence numbers and checks the received ones in
 * call/arrival order; this keeps what the hook has not finished, and what is queued behind it.
 *
 * Invariants:
 * - lines reach the socket in the order their sequence numbers were taken; a line sealed inline
 *   (a MESSAGES packet: ffs.end, a reply, credit) waits behind chunks still being sealed;
 * - packets reach the owner in sequence order; one opened inline waits behind chunks still being
 *   opened; after a refused packet or a failed hook nothing more is delivered (the channel fails);
 * - flow control: the channel reports not writable while `full`; an answer of false is owed an
 *   onDrain, given once the queue shrinks and the socket is writable (or by the socket's 'drain');
 * - at most 4 × maxPendingChunks received packets wait: beyond, the socket is paused.
 */
export class ChunkOffload {
  readonly #crypto: ChunkCrypto;
  readonly #link: OffloadLink;
  readonly #outgoing: InOrder<Buffer>;
  readonly #incoming: InOrder<Received>;
  readonly #maxIncoming: number;
  #owesDrain = false;
  #endWhenWritten = false;
  #paused = false;

  constructor(crypto: ChunkCrypto, link: OffloadLink) {
    this.#crypto = crypto;
    this.#link = link;
    this.#maxIncoming = crypto.maxPendingChunks * 4;
    this.#outgoing = new InOrder((line) => link.write(line));
    this.#incoming = new InOrder((packet) => link.accept(packet.kind, packet.plaintext));
  }

  /** Lines not yet written (being sealed, or queued behind one that is). */
  get writing(): number {
    return this.#outgoing.size;
  }

  /** Packets received and not yet delivered. */
  get opening(): number {
    return this.#incoming.size;
  }

  get full(): boolean {
    return this.#outgoing.size >= this.#crypto.maxPendingChunks;
  }

  /** What sendChunk/sendMessages answer: `writable`, remembering that a drain is owed. */
  answer(writable: boolean): boolean {
    if (!writable) this.#owesDrain = true;
    return writable;
  }

  /** A line sealed inline, written after the lines before it. */
  queue(line: Buffer): void {
    this.#outgoing.ready(line);
  }

  seal(job: ChunkSealJob): void {
    const fill = this.#outgoing.later();
    this.#crypto.sealChunk(job).then(
      (line) => {
        if (this.#link.closed) return;
        fill(line);
        this.#afterWrites();
      },
      (err: unknown) => this.#link.fail(Errors.CLOSED(`chunk sealing failed: ${(err as Error)?.message ?? err}`, {}, err)),
    );
  }

  /** Ends the socket once every queued line is written. */
  endWhenWritten(): void {
    this.#endWhenWritten = true;
  }

  /** A packet opened inline, delivered after the packets before it. */
  received(kind: PacketKind, plaintext: Buffer): void {
    this.#incoming.ready({ kind, plaintext });
  }

  open(job: ChunkOpenJob): void {
    const fill = this.#incoming.later();
    this.#crypto.openChunk(job).then(
      (result) => {
        if (this.#link.failed) return;
        if (!('plaintext' in result)) return this.#link.fail(new CodedError(result.code, result.message));
        fill({ kind: KIND_CHUNK, plaintext: result.plaintext });
        this.#afterDeliveries();
      },
      (err: unknown) => this.#link.fail(Errors.CLOSED(`chunk opening failed: ${(err as Error)?.message ?? err}`, {}, err)),
    );
    if (this.#incoming.size >= this.#maxIncoming && !this.#paused) {
      this.#paused = true;
      this.#link.pause();
    }
  }

  /** Drops everything not yet written or delivered (the connection is closing). */
  clear(): void {
    this.#outgoing.clear();
    this.#incoming.clear();
  }

  #afterWrites(): void {
    if (this.#outgoing.size === 0 && this.#endWhenWritten) {
      this.#endWhenWritten = false;
      this.#link.end();
      return;
    }
    if (this.#owesDrain && this.#link.writable) {
      this.#owesDrain = false;
      this.#link.drain();
    }
  }

  #afterDeliveries(): void {
    if (this.#paused && this.#incoming.size < this.#maxIncoming / 2) {
      this.#paused = false;
      this.#link.resume();
    }
    if (this.#incoming.size === 0) this.#link.delivered();
  }
}
