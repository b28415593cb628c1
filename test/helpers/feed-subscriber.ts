/**
 * A subscriber of the change feed as the hosts are: one `changes.next` long wait always in
 * flight, resuming from the last sequence it saw (after a failed request too: a peer killed and
 * started again). It keeps every change with the time it arrived, for latency and for checks of
 * order and completeness.
 */
import { CommlinkClient } from '../../lib/commlink/index.js';
import { silentLogger } from '../../lib/log/logger.js';
import { now } from './latency.js';
import { linkBag, type TeardownScope } from './processes.js';

export interface FeedChange {
  seq: number;
  kind: string;
  customer?: string;
  product?: string;
  version?: string;
  entitlementId?: number;
  tokenId?: number;
  [field: string]: unknown;
}

interface Batch {
  changes: FeedChange[];
  head: number;
  reset: boolean;
}

/** How long each long wait lasts (below the commlink timeouts the hosts give it). */
const WAIT_MS = 5000;

export class FeedSubscriber {
  readonly name: string;
  readonly #client: CommlinkClient;
  /** Every change received, in arrival order, with its arrival time. */
  readonly arrivals: { change: FeedChange; at: number }[] = [];
  /** Batches that said reset (a subscriber of a kept log never gets one). */
  resets = 0;
  /** Requests that failed (the peer gone); each was retried from the last sequence seen. */
  failures = 0;
  #after = 0;
  /** When the first reset came. */
  #resetAt: number | undefined;
  #closed = false;
  #wake: (() => void) | undefined;
  #loop: Promise<void> | undefined;

  private constructor(name: string, client: CommlinkClient) {
    this.name = name;
    this.#client = client;
  }

  /**
   * Subscribes at `port` with the key bag of `link` (internalDb: as a web host; fileHost: through
   * a web host's gateway, as a file host), from the head of the log now.
   */
  static async start(scope: TeardownScope, name: string, dataDir: string, link: 'internalDb' | 'fileHost', port: number): Promise<FeedSubscriber> {
    const client = new CommlinkClient({
      host: '127.0.0.1',
      port,
      bag: await linkBag(dataDir, link),
      log: silentLogger,
      reconnectMinMs: 20,
      reconnectMaxMs: 200,
    });
    const subscriber = new FeedSubscriber(name, client);
    scope.teardown(() => subscriber.close());
    subscriber.#after = (await subscriber.#next(0, 0)).head;
    subscriber.#loop = subscriber.#run();
    return subscriber;
  }

  /** The last sequence received. */
  get after(): number {
    return this.#after;
  }

  #next(after: number, waitMs: number): Promise<Batch> {
    return this.#client.request('changes.next', { after, limit: 500, waitMs }, { timeoutMs: waitMs + 10_000 }) as Promise<never>;
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      let batch: Batch;
      try {
        batch = await this.#next(this.#after, WAIT_MS);
      } catch {
        if (this.#closed) return;
        this.failures++;
        await new Promise((r) => setTimeout(r, 20));
        continue;
      }
      const at = now();
      if (batch.reset) {
        this.resets++;
        this.#resetAt ??= at;
        this.#after = batch.head;
      }
      for (const change of batch.changes) {
        this.arrivals.push({ change, at });
        this.#after = change.seq;
      }
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    }
  }

  /**
   * Resolves with the milliseconds from `since` to the arrival of the first change matching
   * `match` (0 when it arrived before `since`); rejects past `timeoutMs` of `since`.
   */
  arrival(what: string, since: number, match: (change: FeedChange) => boolean, timeoutMs = 3000): Promise<number> {
    return this.#until(what, since, () => this.arrivals.find((a) => match(a.change))?.at, timeoutMs);
  }

  /** Resolves with the milliseconds from `since` to the first batch that said reset; rejects past `timeoutMs`. */
  reset(since: number, timeoutMs = 3000): Promise<number> {
    return this.#until('a reset', since, () => this.#resetAt, timeoutMs);
  }

  async #until(what: string, since: number, at: () => number | undefined, timeoutMs: number): Promise<number> {
    for (;;) {
      const found = at();
      if (found !== undefined) return Math.max(0, found - since);
      const left = since + timeoutMs - now();
      if (left <= 0) throw new Error(`${this.name}: ${what}: not within ${timeoutMs} ms (last seq ${this.#after})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        const previous = this.#wake;
        this.#wake = () => {
          clearTimeout(timer);
          previous?.();
          resolve();
        };
      });
    }
  }

  /** The sequences received, in arrival order. */
  seqs(): number[] {
    return this.arrivals.map((a) => a.change.seq);
  }

  async close(): Promise<void> {
    this.#closed = true;
    await this.#client.close(0);
    await this.#loop;
  }
}
