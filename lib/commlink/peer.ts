import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { IncomingStream, OutgoingStream } from './bulk-stream.js';
import { CommlinkError, Errors, RemoteError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { Outbox } from './outbox.js';
import type { SecureChannel } from './secure-channel.js';
import { decodeMessages, type Message, type Value } from './tobj/index.js';
import type { Logger } from '../log/logger.js';

export type Body = Record<string, Value>;

export interface RequestContext {
  readonly peer: Peer;
  readonly op: string;
  readonly id: string;
  /** The bulk stream sent with the request, if any. Read it before replying. */
  readonly stream: Readable | undefined;
  /** Aborted when the connection closes before the handler finishes. */
  readonly signal: AbortSignal;
}

export type Handler = (body: Body, ctx: RequestContext) => Body | void | Promise<Body | void>;
export type Handlers = ReadonlyMap<string, Handler>;

export interface RequestOptions {
  timeoutMs?: number;
  /** A bulk stream to send with the request (e.g. an upload). */
  stream?: Readable;
}

export interface PeerOptions {
  readonly handlers: Handlers;
  readonly requestTimeoutMs: number;
  readonly maxInFlight: number;
  /** Our receive window per stream (announced in our hello). */
  readonly streamWindowBytes: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  readonly log: Logger;
}

/** A request we are serving. */
interface InFlight {
  controller: AbortController | undefined;
}

interface PendingRequest {
  readonly op: string;
  readonly resolve: (body: Body) => void;
  readonly reject: (err: CommlinkError) => void;
  readonly timer: NodeJS.Timeout;
  stream: OutgoingStream | undefined;
}

const RESERVED_PREFIX = 'ffs.';
/** Data bytes per chunk packet: its line (~87 KiB of base64) stays below V8's large-object
 *  threshold, where string conversions are an order of magnitude slower (see outbox.ts). */
const CHUNK_BYTES = 64 * 1024;
const MAX_STREAM_ID = 0xffffffff;

/**
 * One end of an established commlink connection: requests out, requests in, replies paired by id,
 * bulk streams, heartbeat. Either end may serve requests; which side dialled does not matter
 * (reverse dial).
 *
 * Invariants: every pending request settles exactly once (reply, error, timeout or close);
 * replies to our requests are matched by id only; a message that breaks the protocol closes the
 * connection, a failing handler only fails its own request.
 */
export class Peer extends EventEmitter {
  readonly #channel: SecureChannel;
  readonly #options: PeerOptions;
  readonly #log: Logger;
  readonly #outbox: Outbox;
  readonly #heartbeat: Heartbeat;
  readonly #pending = new Map<string, PendingRequest>();
  readonly #incomingStreams = new Map<number, IncomingStream>();
  readonly #outgoingStreams = new Map<number, OutgoingStream>();
  /** Highest stream id the peer has opened. Ids only grow, so a chunk, end or abort for a stream
   *  that is not open but not above this one belongs to a stream already finished or abandoned:
   *  it was in flight, and is dropped. No per-stream memory outlives its stream. */
  #highestIncomingStream = 0;
  readonly #handling = new Set<InFlight>();
  readonly #remoteWindow: number;
  #nextId = 1;
  #nextStreamId = 1;
  #closing = false;
  #closed = false;
  #closeError: CommlinkError | undefined;
  #drainWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Index in the key bag of this connection's key. */
  readonly keyIndex: number;

  constructor(channel: SecureChannel, remoteHello: Body, options: PeerOptions) {
    super();
    this.#channel = channel;
    this.#options = options;
    this.remoteAddress = channel.remoteAddress;
    this.remotePort = channel.remotePort;
    this.localPort = channel.localPort;
    this.keyIndex = channel.keyIndex;
    this.#log = options.log.child({ peer: `${channel.remoteAddress}:${channel.remotePort}` });
    const window = remoteHello.window;
    this.#remoteWindow = typeof window === 'number' && Number.isInteger(window) && window > 0 ? window : 65536;
    this.#outbox = new Outbox(channel);
    this.#heartbeat = new Heartbeat(options.heartbeatIntervalMs, options.heartbeatTimeoutMs, {
      ping: () => this.#outbox.push({ type: 'ffs.ping', attrs: {}, body: {} }),
      dead: (silentMs) => this.destroy(Errors.TIMEOUT(`peer silent for ${silentMs} ms (heartbeat timeout)`)),
    });
    channel.attach({
      onMessages: (payload) => this.#onMessages(payload),
      onChunk: (streamId, data) => this.#onChunk(streamId, data),
      onClose: (error) => this.#onClose(error),
      onDrain: () => this.#onDrain(),
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  get suite(): string | undefined {
    return this.#channel.suiteName;
  }

  /** Requests of ours still waiting for a reply. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Sends a request and resolves with the reply body, or rejects with a typed error. */
  request(op: string, body: Body = {}, options: RequestOptions = {}): Promise<Body> {
    if (this.#closed || this.#closing) {
      return Promise.reject(Errors.CLOSED(`connection is ${this.#closed ? 'closed' : 'closing'}; ${op} not sent`));
    }
    if (typeof op !== 'string' || op.length === 0 || op.startsWith(RESERVED_PREFIX)) {
      return Promise.reject(Errors.MESSAGE_INVALID(`"${op}" is not a valid operation name`));
    }
    const id = String(this.#nextId++);
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs;
    return new Promise<Body>((resolve, reject) => {
      const attrs: Record<string, string> = { id };
      let stream: OutgoingStream | undefined;
      if (options.stream) {
        const streamId = this.#allocateStreamId();
        if (streamId === undefined) {
          reject(Errors.STREAM_PROTOCOL('this connection has used all 2^32-1 stream ids; reconnect to send more streams'));
          return;
        }
        attrs.stream = String(streamId);
        stream = new OutgoingStream(streamId, options.stream, this.#remoteWindow, {
          sendChunk: (sid, data) => {
            this.#outbox.flush(); // the request and credits go before its chunks
            return this.#channel.sendChunk(sid, data);
          },
          sendEnd: (sid, totalBytes) => this.#outbox.push({ type: 'ffs.end', attrs: { stream: String(sid) }, body: { bytes: totalBytes } }),
          sendAbort: (sid, error) =>
            this.#outbox.push({ type: 'ffs.abort', attrs: { stream: String(sid) }, body: { code: error.code, message: error.message } }),
          waitDrain: () => this.#waitDrain(),
          maxChunk: Math.min(CHUNK_BYTES, this.#channel.maxPayload - 4),
        });
      }
      const timer = setTimeout(() => {
        this.#settle(id, undefined, Errors.TIMEOUT(`${op} got no reply within ${timeoutMs} ms`, { op, timeoutMs }));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { op, resolve, reject, timer, stream });
      try {
        this.#outbox.push({ type: op, attrs, body });
      } catch (err) {
        this.#settle(id, undefined, err instanceof CommlinkError ? err : Errors.MESSAGE_INVALID(String(err)));
        return;
      }
      if (stream) {
        const outgoing = stream;
        this.#outgoingStreams.set(outgoing.streamId, outgoing);
        // A failing source fails the request; a stop (reply, receiver abort, close) does not.
        outgoing
          .pump()
          .catch((err: CommlinkError) => this.#settle(id, undefined, err))
          .finally(() => this.#outgoingStreams.delete(outgoing.streamId));
      }
    });
  }

  /**
   * Graceful close: refuses new requests, waits (up to graceMs) for requests in flight both ways,
   * then ends the connection. Requests still pending after the grace fail with ERR_CLOSED.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closed) return;
    this.#closing = true;
    if (this.#pending.size > 0 || this.#handling.size > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, graceMs);
        timer.unref();
        this.#idleWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    if (this.#closed) return;
    this.#outbox.push({ type: 'ffs.bye', attrs: {}, body: {} });
    this.#outbox.flush();
    this.#channel.end();
    await new Promise<void>((resolve) => (this.#closed ? resolve() : this.once('close', () => resolve())));
  }

  /** Closes at once; pending requests fail with `reason` or ERR_CLOSED. */
  destroy(reason?: CommlinkError): void {
    if (this.#closed) return;
    this.#closeError = reason;
    this.#channel.destroy(reason);
  }

  // --- receiving -------------------------------------------------------------------------------

  #onMessages(payload: Buffer): void {
    this.#heartbeat.activity();
    let messages: Message[];
    try {
      messages = decodeMessages(payload, { maxBytes: payload.length });
    } catch (err) {
      this.destroy(err instanceof CommlinkError ? err : Errors.MESSAGE_INVALID(String(err)));
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      try {
        this.#dispatch(message);
      } catch (err) {
        this.destroy(err instanceof CommlinkError ? err : Errors.MESSAGE_INVALID(String(err), {}, err));
        return;
      }
    }
  }

  #dispatch(message: Message): void {
    const { type, attrs, body } = message;
    if (!type.startsWith(RESERVED_PREFIX)) {
      this.#onRequest(type, attrs, body);
      return;
    }
    switch (type) {
      case 'ffs.reply':
        this.#settle(requireAttr(attrs, 'id', type), body, undefined);
        return;
      case 'ffs.error': {
        const code = typeof body.code === 'string' ? body.code : Errors.REMOTE_INTERNAL.code;
        const text = typeof body.message === 'string' ? body.message : 'remote error';
        const details = body.details && typeof body.details === 'object' && !Array.isArray(body.details) ? (body.details as Body) : {};
        this.#settle(requireAttr(attrs, 'id', type), undefined, new RemoteError(code, text, details));
        return;
      }
      case 'ffs.ping':
        this.#outbox.push({ type: 'ffs.pong', attrs: {}, body: {} });
        return;
      case 'ffs.pong':
        return;
      case 'ffs.credit': {
        const bytes = body.bytes;
        if (typeof bytes !== 'number' || !Number.isInteger(bytes) || bytes <= 0) throw Errors.STREAM_PROTOCOL('credit without a positive byte count');
        this.#outgoingStream(streamAttr(attrs))?.grant(bytes);
        return;
      }
      case 'ffs.end': {
        const streamId = streamAttr(attrs);
        const stream = this.#incomingStreams.get(streamId);
        if (!stream) {
          if (streamId <= this.#highestIncomingStream) return; // we abandoned it
          throw Errors.STREAM_PROTOCOL(`end of unknown stream ${streamId}`);
        }
        this.#incomingStreams.delete(streamId);
        stream.end(typeof body.bytes === 'number' ? body.bytes : -1);
        return;
      }
      case 'ffs.abort': {
        const streamId = streamAttr(attrs);
        const reason = `stream ${streamId} aborted by the peer: ${typeof body.message === 'string' ? body.message : 'no reason'}`;
        // Either the sender aborts a stream we receive, or the receiver aborts one we send.
        const incoming = this.#incomingStreams.get(streamId);
        if (incoming) {
          this.#incomingStreams.delete(streamId);
          incoming.fail(Errors.STREAM_ABORTED(reason));
        }
        this.#outgoingStream(streamId)?.stop(Errors.STREAM_ABORTED(reason));
        return;
      }
      case 'ffs.bye':
        this.#closing = true;
        if (this.#pending.size === 0 && this.#handling.size === 0) this.#channel.end();
        return;
      default:
        throw Errors.MESSAGE_INVALID(`unknown reserved message type "${type}"`);
    }
  }

  #onRequest(op: string, attrs: Record<string, string>, body: Body): void {
    const id = requireAttr(attrs, 'id', op);
    let stream: IncomingStream | undefined;
    if (attrs.stream !== undefined) {
      const streamId = streamAttr(attrs);
      if (streamId <= this.#highestIncomingStream) {
        throw Errors.STREAM_PROTOCOL(`stream id ${streamId} does not increase (last was ${this.#highestIncomingStream})`);
      }
      this.#highestIncomingStream = streamId;
      stream = new IncomingStream(streamId, this.#options.streamWindowBytes, {
        grant: (sid, bytes) => this.#outbox.push({ type: 'ffs.credit', attrs: { stream: String(sid) }, body: { bytes } }),
        abort: (sid, error) => {
          this.#incomingStreams.delete(sid);
          this.#outbox.push({ type: 'ffs.abort', attrs: { stream: String(sid) }, body: { code: error.code, message: error.message } });
        },
      });
      this.#incomingStreams.set(streamId, stream);
    }
    const handler = this.#options.handlers.get(op);
    if (!handler) {
      stream?.abandon('no handler');
      this.#replyError(id, Errors.UNKNOWN_OPERATION(`no operation "${op}" here`, { op }));
      return;
    }
    if (this.#handling.size >= this.#options.maxInFlight) {
      stream?.abandon('too many requests in flight');
      this.#replyError(id, Errors.TOO_MANY_IN_FLIGHT(`limit of ${this.#options.maxInFlight} requests in flight reached`));
      return;
    }
    // The AbortController is made only if the handler asks for ctx.signal (most never do).
    const handling: InFlight = { controller: undefined };
    this.#handling.add(handling);
    const peer = this;
    const ctx: RequestContext = {
      peer,
      op,
      id,
      stream,
      get signal() {
        handling.controller ??= new AbortController();
        if (peer.#closed) handling.controller.abort(Errors.CLOSED('connection closed'));
        return handling.controller.signal;
      },
    };
    const done = (result: Body | void | undefined, error: unknown) => {
      this.#handling.delete(handling);
      if (stream && !stream.finished) stream.abandon(`handler for ${op} finished before reading the whole stream`);
      if (!this.#closed) {
        if (error === undefined) this.#reply(id, op, result ?? {});
        else this.#replyError(id, this.#exposable(op, id, error));
      }
      this.#checkIdle();
    };
    let result: Body | void | Promise<Body | void>;
    try {
      result = handler(body, ctx);
    } catch (err) {
      done(undefined, err);
      return;
    }
    if (result instanceof Promise) result.then((value) => done(value, undefined), (err: unknown) => done(undefined, err ?? new Error('rejected')));
    else done(result, undefined);
  }

  #reply(id: string, op: string, body: Body): void {
    try {
      this.#outbox.push({ type: 'ffs.reply', attrs: { id }, body });
    } catch (err) {
      this.#replyError(id, this.#exposable(op, id, err));
    }
  }

  #replyError(id: string, error: CommlinkError): void {
    const body: Body = { code: error.code, message: error.message };
    if (Object.keys(error.details).length > 0) body.details = safeDetails(error.details);
    this.#outbox.push({ type: 'ffs.error', attrs: { id }, body });
  }

  /** Catalogue errors cross the wire as they are; anything else is logged whole, answered generically. */
  #exposable(op: string, id: string, error: unknown): CommlinkError {
    if (error instanceof CommlinkError) return error; // includes a RemoteError passed through by a gateway
    this.#log.error('handler failed', { op, id, err: error });
    return Errors.REMOTE_INTERNAL(`internal error in ${op} (request ${id}); the reason is in the serving host's log`);
  }

  #onChunk(streamId: number, data: Buffer): void {
    this.#heartbeat.activity();
    const stream = this.#incomingStreams.get(streamId);
    if (stream) {
      try {
        stream.receive(data);
      } catch (err) {
        this.destroy(err as CommlinkError);
      }
      return;
    }
    if (streamId <= this.#highestIncomingStream) return; // in flight when we abandoned it
    this.destroy(Errors.STREAM_PROTOCOL(`chunk for unknown stream ${streamId}`));
  }

  // --- bookkeeping -----------------------------------------------------------------------------

  #settle(id: string, body: Body | undefined, error: CommlinkError | undefined): void {
    const pending = this.#pending.get(id);
    if (!pending) {
      if (!this.#closed && error?.code !== Errors.TIMEOUT.code) this.#log.debug('reply for no pending request', { id });
      return;
    }
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    if (pending.stream) {
      pending.stream.stop(Errors.STREAM_ABORTED('request settled'));
      pending.stream = undefined;
    }
    if (error) pending.reject(error);
    else pending.resolve(body as Body);
    this.#checkIdle();
  }

  #outgoingStream(streamId: number): OutgoingStream | undefined {
    return this.#outgoingStreams.get(streamId);
  }

  /** Stream ids increase strictly on a connection (PROTOCOL.md §12); undefined when exhausted. */
  #allocateStreamId(): number | undefined {
    if (this.#nextStreamId > MAX_STREAM_ID) return undefined;
    return this.#nextStreamId++;
  }

  #checkIdle(): void {
    if (this.#pending.size > 0 || this.#handling.size > 0) return;
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
    if (this.#closing && !this.#closed) {
      this.#outbox.flush();
      this.#channel.end();
    }
  }

  #waitDrain(): Promise<void> {
    if (this.#channel.writable) return Promise.resolve();
    if (this.#closed) return Promise.reject(Errors.CLOSED('connection closed'));
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #onDrain(): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const wake of waiters) wake();
  }

  #onClose(error: CommlinkError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#heartbeat.stop();
    this.#outbox.discard();
    const reason = this.#closeError ?? error;
    const closed = Errors.CLOSED(`connection closed${reason ? `: ${reason.message}` : ''}`, {}, reason);
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined, closed);
    for (const stream of this.#incomingStreams.values()) stream.fail(Errors.STREAM_ABORTED('connection closed', {}, reason));
    this.#incomingStreams.clear();
    for (const handling of this.#handling) handling.controller?.abort(closed);
    this.#onDrain();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
    this.emit('close', reason);
  }
}

const REQUEST_ID = /^[0-9A-Za-z._-]{1,64}$/;

function requireAttr(attrs: Record<string, string>, name: 'id', type: string): string {
  const value = attrs[name];
  if (value === undefined || value === '') throw Errors.MESSAGE_INVALID(`${type} message without "${name}"`);
  if (!REQUEST_ID.test(value)) throw Errors.MESSAGE_INVALID(`${type} message with an invalid id "${value.slice(0, 70)}"`);
  return value;
}

function streamAttr(attrs: Record<string, string>): number {
  const text = attrs.stream ?? '';
  const id = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(id >= 1 && id <= MAX_STREAM_ID)) throw Errors.STREAM_PROTOCOL(`invalid stream id "${text}"`);
  return id;
}

/** Details cross the wire only as tobj values; anything else is dropped. */
function safeDetails(details: Readonly<Record<string, unknown>>): Body {
  const out: Body = {};
  for (const [key, value] of Object.entries(details)) {
    if (!/^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/.test(key)) continue;
    if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      out[key] = value;
    }
  }
  return out;
}
