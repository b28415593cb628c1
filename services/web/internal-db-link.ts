import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import { CommlinkClient, CommlinkServer, type CommlinkOptions, type KeyBag, type Peer } from '../../lib/commlink/index.js';
import { ask, requireConnected, type LinkEnd, type ObserveRequest } from '../../lib/contracts/ask.js';
import { changesNext } from '../../lib/contracts/internal-db/changes.js';
import type { Operation, ReplyOut, RequestIn } from '../../lib/contracts/operation.js';
import { untilConnected, type InternalDbAsk } from './internal-db-ask.js';
import type { Logger } from '../../lib/log/logger.js';

const INTERNAL_DB = 'the internal-db';

export interface InternalDbLinkOptions {
  /** listen: the internal-db listens and the web host dials it; dial: the internal-db dials in (reverse dial). */
  mode: 'listen' | 'dial';
  /** listen mode: where the internal-db listens. */
  host: string;
  port: number;
  /** dial mode: where this web host listens for the internal-db. */
  dialListenHost: string;
  dialListenPort: number;
  commlink: Partial<CommlinkOptions> & { bag: KeyBag };
  log: Logger;
  /** Told each request's round trip (metrics). */
  observe?: ObserveRequest;
}

/**
 * The web host's connection to the internal-db, in either direction: it dials the internal-db
 * (listen mode), or it listens and the internal-db dials in and serves over that connection
 * (dial mode, for a firewall with no inbound hole). Either way `ask` asks the internal-db by
 * contract (lib/contracts/internal-db); it fails at once with ERR_GATEWAY_UNAVAILABLE when there is
 * no connection.
 *
 * Events: 'up', 'down'.
 */
export class InternalDbLink extends EventEmitter implements InternalDbAsk {
  readonly #client: CommlinkClient | undefined;
  readonly #server: CommlinkServer | undefined;
  readonly #options: InternalDbLinkOptions;
  #dialledIn: Peer | undefined;
  #address: AddressInfo | undefined;
  /** Requests in flight that do not wait by design (all but changes.next): what a close waits for. */
  #working = 0;
  readonly #idle = new Set<() => void>();

  constructor(options: InternalDbLinkOptions) {
    super();
    this.#options = options;
    const log = options.log.child({ link: 'internal-db' });
    if (options.mode === 'listen') {
      this.#client = new CommlinkClient({ ...options.commlink, host: options.host, port: options.port, log });
      this.#client.on('connect', () => this.emit('up'));
      this.#client.on('disconnect', () => this.emit('down'));
    } else {
      this.#server = new CommlinkServer({ ...options.commlink, log });
      this.#server.on('peer', (peer: Peer) => {
        const previous = this.#dialledIn;
        this.#dialledIn = peer;
        if (previous && !previous.closed) previous.close(1000).catch(() => {});
        peer.once('close', () => {
          if (this.#dialledIn === peer) {
            this.#dialledIn = undefined;
            this.emit('down');
          }
        });
        this.emit('up');
      });
    }
  }

  /** Starts dialling, or listening for the internal-db to dial in. Does not wait for the connection. */
  async start(): Promise<void> {
    if (this.#client) void this.#client.connect().catch(() => {});
    else this.#address = await this.#server!.listen(this.#options.dialListenPort, this.#options.dialListenHost);
  }

  /** Dial mode: where this web host listens for the internal-db. */
  get dialAddress(): AddressInfo | undefined {
    return this.#address;
  }

  get connected(): boolean {
    if (this.#client) return this.#client.connected;
    return this.#dialledIn !== undefined && !this.#dialledIn.closed;
  }

  /** Resolves true once connected, false after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<boolean> {
    return untilConnected(this, timeoutMs);
  }

  /**
   * Asks the internal-db. Its own errors (ERR_AUTH_REFUSED …) pass through; a request that does
   * not get through is ERR_GATEWAY_UNAVAILABLE; a reply against the contract is ERR_REPLY_INVALID.
   */
  async ask<O extends Operation>(operation: O, body: RequestIn<O>, timeoutMs = 10_000): Promise<ReplyOut<O>> {
    requireConnected(this.connected, INTERNAL_DB, operation, this.#options.observe);
    const end: LinkEnd = this.#client ?? this.#dialledIn!;
    if (operation.name === changesNext.name) return ask(end, operation, body, { who: INTERNAL_DB, observe: this.#options.observe, timeoutMs });
    this.#working++;
    try {
      return await ask(end, operation, body, { who: INTERNAL_DB, observe: this.#options.observe, timeoutMs });
    } finally {
      if (--this.#working === 0) for (const done of [...this.#idle]) done();
    }
  }

  /**
   * Gives the requests in flight up to `graceMs` to finish, then closes. A `changes.next` waiting
   * for a change is not waited for (it waits by design, up to its waitMs: the close would always
   * take the whole grace); it ends with the link.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#working > 0 && graceMs > 0) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.#idle.delete(done);
          resolve();
        };
        const timer = setTimeout(done, graceMs);
        this.#idle.add(done);
      });
    }
    await this.#client?.close(0);
    await this.#server?.close(0);
  }
}
