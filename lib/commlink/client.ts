import { EventEmitter } from 'node:events';
import { connect, type Socket } from 'node:net';
import { backoffDelay } from '../backoff.js';
import type { Body } from './envelope.js';
import { Errors } from './errors.js';
import { channelOptions, resolveOptions, type CommlinkOptions, type ResolvedOptions } from './options.js';
import { Peer, type RequestOptions } from './peer.js';
import { RefusalLog } from './refusal-log.js';
import { SecureChannel } from './secure-channel.js';
import type { KeyBag } from './keybag.js';
import { type CodedError } from '../errors/index.js';

export interface ClientOptions extends Partial<CommlinkOptions> {
  bag: KeyBag;
  host: string;
  port: number;
  /** The local address to dial from (a multi-homed host); default: the system's choice. */
  localAddress?: string;
}

/**
 * Dials a commlink server and keeps the connection up: reconnects with back-off when it drops,
 * detects a dead peer by heartbeat. Requests made while disconnected wait for the connection up
 * to their timeout. With `handlers`, the client serves requests too (reverse dial).
 *
 * Events: 'connect' (peer), 'disconnect' (error?), 'reconnecting' ({ attempt, delayMs }).
 */
export class CommlinkClient extends EventEmitter {
  readonly #options: ResolvedOptions;
  readonly #host: string;
  readonly #port: number;
  readonly #localAddress: string | undefined;
  readonly #refusals: RefusalLog;
  #peer: Peer | undefined;
  #socket: Socket | undefined;
  #attempt = 0;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;
  #started = false;
  #waiters = new Set<{ resolve: (peer: Peer) => void; reject: (err: CodedError) => void; timer: NodeJS.Timeout }>();

  constructor(options: ClientOptions) {
    super();
    const { host, port, localAddress, ...rest } = options;
    this.#localAddress = localAddress;
    this.#options = resolveOptions(rest);
    this.#host = host;
    this.#port = port;
    const o = this.#options;
    this.#refusals = new RefusalLog(o.log.child({ component: 'commlink-client', target: `${host}:${port}` }), {
      lines: o.refusalLogLines,
      intervalMs: o.refusalLogIntervalMs,
    });
  }

  /** The current connection, if established. */
  get peer(): Peer | undefined {
    return this.#peer;
  }

  get connected(): boolean {
    return this.#peer !== undefined && !this.#peer.closed;
  }

  /** Starts dialling (idempotent); resolves when connected, or rejects after timeoutMs. */
  connect(timeoutMs = this.#options.requestTimeoutMs): Promise<Peer> {
    if (!this.#started) {
      this.#started = true;
      this.#dial();
    }
    return this.#ready(timeoutMs);
  }

  /** Sends a request, waiting for a connection first if needed (within the request's timeout). */
  request(op: string, body: Body = {}, options: RequestOptions = {}): Promise<Body> {
    const peer = this.#peer;
    if (peer && !peer.closed) return peer.request(op, body, options); // the common case: no extra hop
    return this.#requestWhenConnected(op, body, options);
  }

  async #requestWhenConnected(op: string, body: Body, options: RequestOptions): Promise<Body> {
    const timeoutMs = options.timeoutMs ?? this.#options.requestTimeoutMs;
    const started = Date.now();
    const peer = this.connected ? (this.#peer as Peer) : await this.connect(timeoutMs);
    return peer.request(op, body, { ...options, timeoutMs: Math.max(1, timeoutMs - (Date.now() - started)) });
  }

  /** Stops reconnecting and closes the connection gracefully. */
  async close(graceMs = 5000): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#timer);
    for (const waiter of this.#waiters) {
      clearTimeout(waiter.timer);
      waiter.reject(Errors.CLOSED('client closed'));
    }
    this.#waiters.clear();
    if (this.#peer) await this.#peer.close(graceMs);
    else this.#socket?.destroy();
    this.#refusals.flush();
  }

  #ready(timeoutMs: number): Promise<Peer> {
    if (this.#closed) return Promise.reject(Errors.CLOSED('client closed'));
    if (this.connected) return Promise.resolve(this.#peer as Peer);
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve,
        reject,
        timer: setTimeout(() => {
          this.#waiters.delete(waiter);
          reject(Errors.NOT_CONNECTED(`no connection to ${this.#host}:${this.#port} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      waiter.timer.unref();
      this.#waiters.add(waiter);
    });
  }

  #dial(): void {
    if (this.#closed) return;
    const o = this.#options;
    const log = o.log.child({ component: 'commlink-client', target: `${this.#host}:${this.#port}` });
    const socket = connect({ host: this.#host, port: this.#port, noDelay: true, ...(this.#localAddress ? { localAddress: this.#localAddress } : {}) });
    this.#socket = socket;
    let established = false;
    socket.once('error', (err) => {
      if (established) return; // errors after connect belong to the channel
      log.debug('dial failed', { err: err.message });
      this.#retry(Errors.NOT_CONNECTED(`cannot reach ${this.#host}:${this.#port}: ${err.message}`));
    });
    socket.once('connect', () => {
      established = true;
      const channel = new SecureChannel(socket, channelOptions(o, 'client', log, this.#refusals));
      channel.ready.then(
        (hello) => {
          const peer = new Peer(channel, hello, { ...o, log });
          if (this.#closed) {
            void peer.close(0);
            return;
          }
          this.#peer = peer;
          this.#attempt = 0;
          peer.once('close', (error?: CodedError) => {
            this.#peer = undefined;
            this.emit('disconnect', error);
            this.#retry(error);
          });
          for (const waiter of this.#waiters) {
            clearTimeout(waiter.timer);
            waiter.resolve(peer);
          }
          this.#waiters.clear();
          this.emit('connect', peer);
        },
        (error: CodedError) => {
          this.#refusals.warn(log, 'commlink handshake failed', { reason: error.message, code: error.code });
          this.#retry(error);
        },
      );
    });
  }

  #retry(error: CodedError | undefined): void {
    if (this.#closed) return;
    const delayMs = backoffDelay(this.#attempt++, { minMs: this.#options.reconnectMinMs, maxMs: this.#options.reconnectMaxMs, jitter: true });
    this.emit('reconnecting', { attempt: this.#attempt, delayMs, error });
    // Not unref'd: a service waiting to reconnect must stay alive.
    this.#timer = setTimeout(() => this.#dial(), delayMs);
  }
}
