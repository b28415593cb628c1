import { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { IncomingStream, OutgoingStream } from './bulk-stream.js';
import { Errors } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { Outbox } from './outbox.js';
import { StreamTable } from './stream-table.js';
import { errorBody, remoteError, requireId, type Body } from './envelope.js';
import type { RemoteHello } from './channel-types.js';
import type { SecureChannel } from './secure-channel.js';
import { decodeMessages, type Message } from './tobj/index.js';
import type { Logger } from '../log/logger.js';
import { CodedError } from '../errors/index.js';

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
  readonly reject: (err: CodedError) => void;
  readonly timer: NodeJS.Timeout;
  stream: OutgoingStream | undefined;
}

const RESERVED_PREFIX = 'ffs.';

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
  readonly #streams: StreamTable;
  readonly #handling = new Set<InFlight>();
  readonly #remoteWindow: number;
  #nextId = 1;
  #closing = false;
  #closed = false;
  #closeError: CodedError | undefined;
  #drainWaiters: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /** Index in the key bag of this connection's key. */
  readonly keyIndex: number;

  constructor(channel: SecureChannel, remoteHello: RemoteHello, options: PeerOptions) {
    super();
    this.#channel = channel;
    this.#options = options;
    this.remoteAddress = channel.remoteAddress;
    this.remotePort = channel.remotePort;
    this.localPort = channel.localPort;
    this.keyIndex = channel.keyIndex;
    this.#log = options.log.child({ peer: `${channel.remoteAddress}:${channel.remotePort}` });
    this.#remoteWindow = remoteHello.window; // checked against PROTOCOL.md's range by readHello
    this.#outbox = new Outbox(channel);
    this.#streams = new StreamTable(channel, this.#outbox, options.streamWindowBytes, this.#remoteWindow, () => this.#waitDrain());
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
        stream = this.#streams.openOutgoing(options.stream);
        if (!stream) {
          reject(Errors.STREAM_PROTOCOL('this connection has used all 2^32-1 stream ids; reconnect to send more streams'));
          return;
        }
        attrs.stream = String(stream.streamId);
      }
      const timer = setTimeout(() => {
        this.#settle(id, undefined, Errors.TIMEOUT(`${op} got no reply within ${timeoutMs} ms`, { op, timeoutMs }));
      }, timeoutMs);
      timer.unref();
      this.#pending.set(id, { op, resolve, reject, timer, stream });
      try {
        this.#outbox.push({ type: op, attrs, body });
      } catch (err) {
        this.#settle(id, undefined, err instanceof CodedError ? err : Errors.MESSAGE_INVALID(String(err)));
        return;
      }
      // A failing source fails the request; a stop (reply, receiver abort, close) does not.
      if (stream) this.#streams.pump(stream).catch((err: CodedError) => this.#settle(id, undefined, err));
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
  destroy(reason?: CodedError): void {
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
      this.destroy(err instanceof CodedError ? err : Errors.MESSAGE_INVALID(String(err)));
      return;
    }
    for (const message of messages) {
      if (this.#closed) return;
      try {
        this.#dispatch(message);
      } catch (err) {
        this.destroy(err instanceof CodedError ? err : Errors.MESSAGE_INVALID(String(err), {}, err));
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
        this.#settle(requireId(attrs, type), body, undefined);
        return;
      case 'ffs.error':
        this.#settle(requireId(attrs, type), undefined, remoteError(body));
        return;
      case 'ffs.ping':
        this.#outbox.push({ type: 'ffs.pong', attrs: {}, body: {} });
        return;
      case 'ffs.pong':
        return;
      case 'ffs.credit':
        this.#streams.onCredit(attrs.stream, body);
        return;
      case 'ffs.end':
        this.#streams.onEnd(attrs.stream, body);
        return;
      case 'ffs.abort':
        this.#streams.onAbort(attrs.stream, body);
        return;
      case 'ffs.bye':
        this.#closing = true;
        if (this.#pending.size === 0 && this.#handling.size === 0) this.#channel.end();
        return;
      default:
        throw Errors.MESSAGE_INVALID(`unknown reserved message type "${type}"`);
    }
  }

  #onRequest(op: string, attrs: Record<string, string>, body: Body): void {
    const id = requireId(attrs, op);
    const stream: IncomingStream | undefined = attrs.stream === undefined ? undefined : this.#streams.openIncoming(attrs.stream);
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
    if (result instanceof Promise)
      result.then(
        (value) => done(value, undefined),
        (err: unknown) => done(undefined, err ?? new Error('rejected')),
      );
    else done(result, undefined);
  }

  #reply(id: string, op: string, body: Body): void {
    try {
      this.#outbox.push({ type: 'ffs.reply', attrs: { id }, body });
    } catch (err) {
      this.#replyError(id, this.#exposable(op, id, err));
    }
  }

  #replyError(id: string, error: CodedError): void {
    this.#outbox.push({ type: 'ffs.error', attrs: { id }, body: errorBody(error) });
  }

  /** Catalogue errors cross the wire as they are; anything else is logged whole, answered generically. */
  #exposable(op: string, id: string, error: unknown): CodedError {
    if (error instanceof CodedError) return error; // includes a RemoteError passed through by a gateway
    this.#log.error('handler failed', { op, id, err: error });
    return Errors.REMOTE_INTERNAL(`internal error in ${op} (request ${id}); the reason is in the serving host's log`);
  }

  #onChunk(streamId: number, data: Buffer): void {
    this.#heartbeat.activity();
    try {
      this.#streams.onChunk(streamId, data);
    } catch (err) {
      this.destroy(err as CodedError);
    }
  }

  // --- bookkeeping -----------------------------------------------------------------------------

  #settle(id: string, body: Body | undefined, error: CodedError | undefined): void {
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

  #onClose(error: CodedError | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#heartbeat.stop();
    this.#outbox.discard();
    const reason = this.#closeError ?? error;
    const closed = Errors.CLOSED(`connection closed${reason ? `: ${reason.message}` : ''}`, {}, reason);
    for (const id of [...this.#pending.keys()]) this.#settle(id, undefined, closed);
    this.#streams.closeAll(reason);
    for (const handling of this.#handling) handling.controller?.abort(closed);
    this.#onDrain();
    const waiters = this.#idleWaiters;
    this.#idleWaiters = [];
    for (const wake of waiters) wake();
    this.emit('close', reason);
  }
}
