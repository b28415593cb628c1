import type { Socket } from 'node:net';
import type { ChannelHandlers, ChannelOptions, RemoteHello } from './channel-types.js';
import { MIN_OFFLOAD_BYTES, type ChunkCrypto } from './chunk-crypto.js';
import { ChunkOffload } from './chunk-offload.js';
import { DirectionKeys } from './direction-keys.js';
import { Errors } from './errors.js';
import { fromSevenBit } from './filter.js';
import { HELLO_MAX_LINE, PROTOCOL_NAME } from './handshake.js';
import { HelloExchange } from './hello-exchange.js';
import { LineReader } from './line-reader.js';
import { BASE_HEADER_LENGTH, decodeHeader, KIND_CHUNK, KIND_HELLO, KIND_MESSAGES, KIND_REKEY, VERSION, type PacketKind } from './packet.js';
import { CodedError } from '../errors/index.js';
import { chunkParts, sealedLine, STREAM_ID_LENGTH } from './packet-codec.js';
import { suiteByName, type CipherSuite, type SuiteKey, type SuiteName } from './suites/index.js';
import type { Logger } from '../log/logger.js';

export { PROTOCOL_NAME };

/** Base64 characters that hold a data packet's 11-byte header (16 characters = 12 bytes). */
const HEADER_CHARS = 16;

/**
 * One encrypted, framed connection: the hello exchange, then sealed packets with per-direction
 * sequence numbers. Any framing, sequence or authentication failure closes this connection only,
 * with a logged reason.
 */
export class SecureChannel {
  readonly #socket: Socket;
  readonly #options: ChannelOptions;
  readonly #log: Logger;
  readonly #reader: LineReader;
  #suite: CipherSuite | undefined;
  /** The hello exchange, until it settles the keys (then dropped, with its ephemeral private key). */
  #hello: HelloExchange | undefined;
  readonly #send: DirectionKeys;
  readonly #recv: DirectionKeys;
  /** Bytes one key may seal under this connection's suite; undefined: no limit (PROTOCOL.md §6.3). */
  #keyLimit: number | undefined;
  /** Present with a chunk-crypto hook only; absent, every packet is sealed and opened inline. */
  readonly #offload: ChunkOffload | undefined;
  /** The socket closed cleanly while chunks were still being opened: onClose waits for them. */
  #closeWhenDelivered = false;
  /** A packet was refused (or the hook failed): the socket is being destroyed. */
  #failed = false;
  #handlers: ChannelHandlers | undefined;
  /** Packets that arrived between the handshake and attach(), in order. */
  #early: { kind: PacketKind; plaintext: Buffer }[] = [];
  #closed = false;
  #closeError: CodedError | undefined;
  #handshakeTimer: NodeJS.Timeout | undefined;
  #resolveReady!: (hello: RemoteHello) => void;
  #rejectReady!: (err: CodedError) => void;
  /** Resolves with what the peer's hello said once both hellos are verified. */
  readonly ready: Promise<RemoteHello>;
  /** Largest plaintext a MESSAGES packet can carry within maxPacketLength. */
  readonly maxPayload: number;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Index of the bag key this connection uses: the client-side port mod N. */
  readonly keyIndex: number;

  constructor(socket: Socket, options: ChannelOptions) {
    this.#socket = socket;
    this.#options = options;
    this.remoteAddress = socket.remoteAddress ?? '?';
    this.remotePort = socket.remotePort ?? 0;
    this.localPort = socket.localPort ?? 0;
    this.keyIndex = options.bag.keyIndex(options.role === 'client' ? this.localPort : this.remotePort);
    this.#log = options.log.child({ peer: `${this.remoteAddress}:${this.remotePort}`, role: options.role });
    const client = options.role === 'client';
    this.#send = new DirectionKeys(client ? 'c2s' : 's2c');
    this.#recv = new DirectionKeys(client ? 's2c' : 'c2s');
    this.#hello = new HelloExchange(options, client ? this.localPort : this.remotePort);
    this.ready = new Promise((resolve, reject) => {
      this.#resolveReady = resolve;
      this.#rejectReady = reject;
    });
    this.ready.catch(() => {}); // observed through onClose as well
    this.#offload = options.chunkCrypto ? this.#makeOffload(options.chunkCrypto) : undefined;
    const worstOverhead = Math.max(suiteByName('aes-256-gcm').overhead, suiteByName('des-ede3-cbc-hmac-sha256').overhead);
    this.maxPayload = Math.floor(options.maxPacketLength / 4) * 3 - BASE_HEADER_LENGTH - worstOverhead;
    // Until the peer's hello is verified, a line may be no longer than a hello: an unauthenticated
    // peer cannot make this connection hold more (PROTOCOL.md §7).
    this.#reader = new LineReader(Math.min(HELLO_MAX_LINE, options.maxPacketLength), (line) => this.#onLine(line));

    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      if (this.#closed) return;
      try {
        this.#reader.push(chunk);
      } catch (err) {
        this.#fail(err);
      }
    });
    socket.on('drain', () => {
      if (!this.#offload?.full) this.#handlers?.onDrain();
    });
    socket.on('error', (err) => {
      if (!this.#closed) this.#closeError ??= Errors.CLOSED(`socket error: ${err.message}`, {}, err);
    });
    socket.on('close', () => this.#finish());
    this.#handshakeTimer = setTimeout(() => {
      this.#fail(Errors.HANDSHAKE(`no hello within ${options.handshakeTimeoutMs} ms`));
    }, options.handshakeTimeoutMs);
    this.#handshakeTimer.unref();

    if (client) {
      this.#suite = suiteByName(options.suite);
      this.#send.seq = 1n; // the hello is packet 0
      socket.write(this.#hello.clientHello());
    }
  }

  /** Installs the receivers; call once `ready` resolved. Packets that came before are delivered now. */
  attach(handlers: ChannelHandlers): void {
    this.#handlers = handlers;
    const early = this.#early;
    this.#early = [];
    try {
      for (const { kind, plaintext } of early) this.#deliver(handlers, kind, plaintext);
    } catch (err) {
      this.#fail(err);
    }
    if (this.#closed && !this.#closeWhenDelivered) handlers.onClose(this.#closeError);
  }

  get closed(): boolean {
    return this.#closed;
  }

  get suiteName(): SuiteName | undefined {
    return this.#suite?.name;
  }

  /** True when the socket's write buffer is below its high-water mark (and, with a chunk-crypto
   *  hook, fewer than maxPendingChunks lines wait to be written). */
  get writable(): boolean {
    return !this.#closed && !this.#socket.writableNeedDrain && !this.#offload?.full;
  }

  /** Sends one MESSAGES packet. Returns false when the caller should wait for onDrain. */
  sendMessages(payload: Buffer): boolean {
    return this.#sendPacket(KIND_MESSAGES, [payload]);
  }

  /** Sends one CHUNK packet: the stream id (uint32) then the data. */
  sendChunk(streamId: number, data: Buffer): boolean {
    const offload = this.#offload;
    if (offload && data.length >= MIN_OFFLOAD_BYTES && this.#send.key && !this.#closed) {
      // Sealed by the hook: the sequence number is taken now, in call order; the offload writes
      // the lines in that order (see chunk-offload.ts for the invariants).
      this.#reserve(STREAM_ID_LENGTH + data.length);
      const seq = this.#send.take();
      offload.seal({ suite: this.#suite!.name, keyMaterial: this.#send.material as Buffer, seq, streamId, data });
      return offload.answer(this.writable);
    }
    return this.#sendPacket(KIND_CHUNK, chunkParts(streamId, data));
  }

  /** Ends the connection after the queued bytes (and lines still being sealed) are written. */
  end(): void {
    if (this.#closed) return;
    if (this.#offload && this.#offload.writing > 0) this.#offload.endWhenWritten();
    else this.#socket.end();
  }

  /** Closes at once, logging `reason` when given. */
  destroy(reason?: CodedError): void {
    if (this.#closed) return;
    if (reason) this.#fail(reason);
    else this.#socket.destroy();
  }

  // --- handshake -------------------------------------------------------------------------------

  #onHello(packet: Buffer): void {
    const outcome = (this.#hello as HelloExchange).receive(packet);
    this.#hello = undefined;
    const { suite } = outcome;
    this.#suite = suite;
    this.#keyLimit = suite.keyLimited ? this.#options.desKeyLimitBytes : undefined;
    this.#recv.seq = 1n;
    if (outcome.reply) {
      this.#send.seq = 1n; // the answering hello is packet 0
      this.#socket.write(outcome.reply);
    }
    this.#send.install(suite, outcome.send);
    this.#recv.install(suite, outcome.recv);
    clearTimeout(this.#handshakeTimer);
    this.#reader.maxLineLength = this.#options.maxPacketLength;
    this.#log.debug('commlink handshake complete', { suite: suite.name });
    this.#resolveReady({ window: outcome.window });
  }

  // --- keys of a key-limited suite (PROTOCOL.md §6.3) ------------------------------------------

  /**
   * Counts `bytes` of plaintext about to be sealed under the send key; when they would pass the
   * suite's limit, first sends a REKEY packet under the current key and moves to the next one.
   * Call before taking the packet's sequence number.
   */
  #reserve(bytes: number): void {
    const limit = this.#keyLimit;
    if (limit === undefined) return;
    if (this.#send.used > 0 && this.#send.used + bytes > limit) this.#rekey();
    this.#send.used += bytes;
  }

  #rekey(): void {
    const suite = this.#suite as CipherSuite;
    const seq = this.#send.take();
    this.#write(sealedLine(suite, this.#send.key as SuiteKey, KIND_REKEY, seq, []));
    this.#send.advance(suite);
    this.#log.debug('commlink send key replaced', { seq: seq.toString(), suite: suite.name });
  }

  // --- packets ---------------------------------------------------------------------------------

  #sendPacket(kind: PacketKind, parts: Buffer[]): boolean {
    if (this.#closed) return false;
    const key = this.#send.key;
    if (!key) throw Errors.NOT_CONNECTED('channel is not ready');
    this.#reserve(parts.reduce((n, part) => n + part.length, 0));
    const seq = this.#send.take();
    return this.#write(sealedLine(this.#suite as CipherSuite, this.#send.key as SuiteKey, kind, seq, parts));
  }

  /** Writes a line sealed inline: at once, or behind chunks still being sealed (never overtaking them). */
  #write(line: Buffer): boolean {
    const offload = this.#offload;
    if (!offload || offload.writing === 0) return this.#socket.write(line); // no hook, or nothing in it
    offload.queue(line);
    return offload.answer(this.writable);
  }

  #onLine(line: Buffer): void {
    if (!this.#recv.key) {
      this.#onHello(fromSevenBit(line));
      return;
    }
    if (this.#offload && line.length >= MIN_OFFLOAD_BYTES && this.#openElsewhere(this.#offload, line)) return;
    const packet = fromSevenBit(line);
    const { header, body } = decodeHeader(packet);
    if (header.suiteId !== this.#suite!.id) {
      throw Errors.PACKET_MALFORMED(`packet suite #${header.suiteId} differs from the connection's ${this.#suite!.name}`);
    }
    if (header.kind === KIND_HELLO) throw Errors.PACKET_MALFORMED('unexpected hello after the handshake');
    if (header.seq !== this.#recv.seq) {
      throw Errors.PACKET_SEQUENCE(
        `expected packet ${this.#recv.seq}, got ${header.seq} (${header.seq < this.#recv.seq ? 'replayed' : 'reordered or dropped'})`,
        {
          expected: this.#recv.seq.toString(),
          got: header.seq.toString(),
        },
      );
    }
    const plaintext = this.#suite!.open(this.#recv.key, header.seq, header.bytes, body);
    if (!plaintext) throw Errors.PACKET_AUTH(`packet ${header.seq} does not authenticate (forged, tampered or truncated)`);
    this.#recv.seq += 1n;
    if (header.kind === KIND_REKEY) {
      if (plaintext.length !== 0) throw Errors.PACKET_MALFORMED(`rekey packet ${header.seq} is not empty`);
      this.#recv.advance(this.#suite!); // every later packet of the peer is sealed with its next key
      return;
    }
    if (header.kind === KIND_CHUNK && plaintext.length < STREAM_ID_LENGTH) {
      throw Errors.PACKET_MALFORMED('chunk packet without a stream id');
    }
    if (this.#keyLimit !== undefined) {
      this.#recv.used += plaintext.length;
      if (this.#recv.used > this.#keyLimit) {
        throw Errors.KEY_LIMIT(`the peer sealed ${this.#recv.used} bytes under one ${this.#suite!.name} key, over the limit of ${this.#keyLimit}`, {
          used: this.#recv.used,
          limit: this.#keyLimit,
        });
      }
    }
    const offload = this.#offload;
    if (!offload || offload.opening === 0)
      this.#accept(header.kind, plaintext); // no hook, or nothing in it
    else offload.received(header.kind, plaintext); // behind chunks still being opened
  }

  /**
   * Hands a CHUNK packet to the hook. Invariant: the sequence number is checked and taken here, in
   * arrival order, before any later line is looked at; the hook checks authentication (the header
   * is the associated data, so the sequence number is authenticated too) and a refusal closes the
   * connection before anything received after it is delivered. False leaves the line to the inline
   * path: anything but a chunk of this suite with the expected number, refused there as always.
   */
  #openElsewhere(offload: ChunkOffload, line: Buffer): boolean {
    if (this.#keyLimit !== undefined) return false; // the bytes under each key are counted inline
    let head: Buffer;
    try {
      head = fromSevenBit(line.subarray(0, HEADER_CHARS));
    } catch {
      return false;
    }
    if (head.length < BASE_HEADER_LENGTH || head[0] !== VERSION || head[1] !== this.#suite!.id || head[2] !== KIND_CHUNK) return false;
    const seq = head.readBigUInt64BE(3);
    if (seq !== this.#recv.seq) return false;
    this.#recv.seq += 1n;
    offload.open({ suite: this.#suite!.name, keyMaterial: this.#recv.material as Buffer, seq, line });
    return true;
  }

  /** A verified packet, in sequence order: to the owner, or kept until it attaches. */
  #accept(kind: PacketKind, plaintext: Buffer): void {
    if (this.#handlers) this.#deliver(this.#handlers, kind, plaintext);
    else this.#early.push({ kind, plaintext }); // the peer spoke before our owner attached
  }

  #makeOffload(crypto: ChunkCrypto): ChunkOffload {
    const channel = this;
    return new ChunkOffload(crypto, {
      write: (line) => this.#socket.write(line),
      end: () => this.#socket.end(),
      accept: (kind, plaintext) => {
        try {
          this.#accept(kind, plaintext);
        } catch (err) {
          this.#fail(err);
        }
      },
      fail: (error) => this.#fail(error),
      drain: () => this.#handlers?.onDrain(),
      delivered: () => {
        if (!this.#closeWhenDelivered) return;
        this.#closeWhenDelivered = false;
        this.#reportClose();
      },
      pause: () => this.#socket.pause(),
      resume: () => this.#socket.resume(),
      get closed() {
        return channel.#closed;
      },
      get failed() {
        return channel.#failed;
      },
      get writable() {
        return channel.writable;
      },
    });
  }

  #deliver(handlers: ChannelHandlers, kind: PacketKind, plaintext: Buffer): void {
    if (kind === KIND_MESSAGES) handlers.onMessages(plaintext);
    else handlers.onChunk(plaintext.readUInt32BE(0), plaintext.subarray(STREAM_ID_LENGTH));
  }

  // --- closing ---------------------------------------------------------------------------------

  #fail(err: unknown): void {
    if (this.#failed || (this.#closed && !this.#closeWhenDelivered)) return;
    this.#failed = true;
    const error = err instanceof CodedError ? err : Errors.PACKET_MALFORMED(`unexpected failure on receive: ${(err as Error)?.message}`, {}, err);
    this.#closeError = error;
    this.#options.refusals.warn(this.#log, 'commlink connection rejected', { reason: error.message, code: error.code });
    this.#offload?.clear(); // nothing received after the bad packet is delivered
    this.#socket.destroy();
    if (this.#closeWhenDelivered) {
      this.#closeWhenDelivered = false;
      this.#reportClose();
    }
  }

  #finish(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#handshakeTimer);
    if (this.#offload && this.#offload.opening > 0 && !this.#closeError && !this.#failed) {
      this.#closeWhenDelivered = true; // the peer's last chunks are still being opened
      return;
    }
    this.#offload?.clear();
    this.#reportClose();
  }

  #reportClose(): void {
    const error = this.#closeError;
    if (!this.#recv.key) {
      this.#rejectReady(error ?? Errors.HANDSHAKE('connection closed during the hello exchange (the peer refused us: see its log for the reason)'));
    }
    this.#handlers?.onClose(error);
  }
}
