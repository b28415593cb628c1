import type { ChunkCrypto } from './chunk-crypto.js';
import type { KeyBag } from './keybag.js';
import type { RefusalLog } from './refusal-log.js';
import type { SuiteName } from './suites/index.js';
import type { CodedError } from '../errors/index.js';
import type { Logger } from '../log/logger.js';

/** What the peer's hello told us, once verified. */
export interface RemoteHello {
  /** The receive window per bulk stream the peer grants (PROTOCOL.md §12). */
  readonly window: number;
}

export interface ChannelOptions {
  /** 'client' is the side that opened the TCP connection (its port picks the key). */
  readonly role: 'client' | 'server';
  readonly bag: KeyBag;
  /** Client: the suite it offers. */
  readonly suite: SuiteName;
  /** Server: the suites it accepts. */
  readonly acceptSuites: readonly SuiteName[];
  readonly maxPacketLength: number;
  readonly handshakeTimeoutMs: number;
  /** The receive window per stream we grant, announced in our hello. */
  readonly window: number;
  /** Bytes sealed under one key of a key-limited suite (DES) before the sender moves to the next key. */
  readonly desKeyLimitBytes: number;
  readonly log: Logger;
  /** Where refusals are logged, at a bounded rate (shared by a listener's connections). */
  readonly refusals: RefusalLog;
  /** Seals and opens CHUNK packets elsewhere (a worker pool); absent: inline, as always. */
  readonly chunkCrypto?: ChunkCrypto | undefined;
}

export interface ChannelHandlers {
  /** A MESSAGES packet's plaintext (one or more tobj elements). */
  onMessages(payload: Buffer): void;
  /** A CHUNK packet's stream id and data. */
  onChunk(streamId: number, data: Buffer): void;
  /** Called once, when the socket is gone; `error` says why when it was not a clean close. */
  onClose(error: CodedError | undefined): void;
  /** The socket's write buffer has drained. */
  onDrain(): void;
}
