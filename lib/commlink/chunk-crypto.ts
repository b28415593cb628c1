import type { SuiteName } from './suites/index.js';

/**
 * The optional hook that seals and opens CHUNK packets off the event loop (a worker pool, see
 * lib/crypto-pool). Without it a channel seals and opens every packet synchronously; with it the
 * wire format is the same byte for byte (both paths run packet-codec.ts), and the channel keeps
 * the order, sequence and authentication rules itself (see secure-channel.ts).
 *
 * Buffers in a job belong to the caller: an implementation that needs them after the call returns
 * must copy them before it returns (the caller may reuse them).
 */
export interface ChunkCrypto {
  /** CHUNK packets one connection may have in the hook at once, per direction (>= 1). */
  readonly maxPendingChunks: number;
  /** The whole wire line of the CHUNK packet (7-bit text, then CR LF). */
  sealChunk(job: ChunkSealJob): Promise<Buffer>;
  /** The packet's plaintext (stream id then data), or the catalogue code of why it was refused. */
  openChunk(job: ChunkOpenJob): Promise<ChunkOpenResult>;
}

export interface ChunkSealJob {
  readonly suite: SuiteName;
  /** The direction's key material from the KDF (the suite prepares it). */
  readonly keyMaterial: Buffer;
  readonly seq: bigint;
  readonly streamId: number;
  readonly data: Buffer;
}

export interface ChunkOpenJob {
  readonly suite: SuiteName;
  readonly keyMaterial: Buffer;
  /** The sequence number the channel expects, already checked against the line's header. */
  readonly seq: bigint;
  /** The received line without its CR LF. */
  readonly line: Buffer;
}

export type ChunkOpenResult =
  | { readonly plaintext: Buffer }
  /** A CodedError's code and message (ERR_PACKET_AUTH, ERR_FRAME_BAD_CHARS …). */
  | { readonly code: string; readonly message: string };

/** Chunks below this many data bytes are sealed and opened inline: a pool round trip costs more. */
export const MIN_OFFLOAD_BYTES = 8 * 1024;
