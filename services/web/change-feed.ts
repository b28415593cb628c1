import { changesNext, type Change } from '../../lib/contracts/internal-db/changes.js';
import type { ReplyOut } from '../../lib/contracts/operation.js';
import type { Logger } from '../../lib/log/logger.js';
import type { InternalDbAsk } from './internal-db-ask.js';
import type { WebMetrics } from './ops/metrics.js';

/** The longest pause between failed requests. */
const MAX_RETRY_MS = 30_000;
/** How late past its waitMs a long wait may answer and the feed still count as live (a loaded machine, the link's round trip). */
const LIVE_MARGIN_MS = 5_000;

/** What follows the feed: told each change once, in sequence order, and told to drop everything on a reset. */
export interface ChangeListener {
  /** A change to apply (drop what it makes stale). Called at most once per change per process; must be harmless twice anyway. */
  change(change: Change): void;
  /** Changes were lost (pruned from the log, or the log is behind us: a restored database): drop everything cached. */
  reset(): void;
}

export interface ChangeFeedOptions {
  db: InternalDbAsk;
  log: Logger;
  metrics?: WebMetrics;
  /** How long one `changes.next` waits at the internal-db for a change (ms). */
  waitMs?: number;
  /** Changes per batch at most. */
  limit?: number;
  /** Pause after a failed request before asking again (the link is up but the request failed); doubled after each further failure, up to 30 s. */
  retryMs?: number;
}

/**
 * The web host's subscription to the internal-db's change log: one `changes.next` long wait in
 * flight while the link is up. Each batch is applied in sequence order to every listener, then the
 * feed asks again from the last sequence applied. At start it learns the head (a first call that
 * does not wait) and follows from there, telling listeners to drop what they cached before (a
 * cache filled before the head was known could hold a fact changed in between).
 *
 * Guarantees: a change is applied at most once per process (the feed keeps the last sequence it
 * applied and asks only after it); none is skipped: when the link drops or the internal-db
 * restarts the feed waits for the link and resumes from that sequence; when the changes after it
 * are gone (pruned) or the log is behind it, the internal-db says `reset`, the listeners drop
 * everything and the feed goes on from the head. While the internal-db cannot be reached, caches
 * keep what they have. A listener that throws is logged and does not stop the feed.
 */
export class ChangeFeed {
  readonly #db: InternalDbAsk;
  readonly #log: Logger;
  readonly #metrics: WebMetrics | undefined;
  readonly #waitMs: number;
  readonly #limit: number;
  readonly #retryMs: number;
  readonly #listeners: ChangeListener[] = [];
  /** The last sequence applied; undefined until the head is learnt. */
  #seq: number | undefined;
  #closed = false;
  /** True while a `changes.next` that may wait is in flight. */
  #waiting = false;
  /** Requests failed in a row (the pause before the next one grows with them). */
  #failures = 0;
  #running: Promise<void> | undefined;
  /**
   * When the last `changes.next` answered with everything up to the head (performance.now()): the
   * next answers within waitMs of it. Undefined after a failure or a link drop.
   */
  #caughtUpAt: number | undefined;
  /** Wakes the loop from a pause (close, link up). */
  #wake: (() => void) | undefined;
  readonly #onUp = () => this.#wake?.();
  readonly #onDown = () => (this.#caughtUpAt = undefined);

  constructor(options: ChangeFeedOptions) {
    this.#db = options.db;
    this.#log = options.log.child({ feed: 'changes' });
    this.#metrics = options.metrics;
    this.#waitMs = options.waitMs ?? 20_000;
    this.#limit = options.limit ?? 500;
    this.#retryMs = options.retryMs ?? 500;
  }

  /** Adds a listener (before start, so that it sees every change). */
  listen(listener: ChangeListener): void {
    this.#listeners.push(listener);
  }

  /** The last sequence applied (undefined: the head is not known yet). */
  get seq(): number | undefined {
    return this.#seq;
  }

  /** True while a `changes.next` that may wait for a change is in flight. */
  get waiting(): boolean {
    return this.#waiting;
  }

  /**
   * True while what the feed has applied is the internal-db's present, to within the feed's second:
   * the link is up, the feed has learnt the head, and its last `changes.next` answered (with
   * everything up to the head) no longer than waitMs + a margin ago, with no failure or link drop
   * since. A cache that trusts the feed to drop its entries (entitlement-cache.ts) uses them only
   * while this is true: a change made while the feed was down is applied (or the feed reset) before
   * it is true again.
   */
  get live(): boolean {
    return !this.#closed && this.#caughtUpAt !== undefined && this.#db.connected && performance.now() - this.#caughtUpAt <= this.#waitMs + LIVE_MARGIN_MS;
  }

  /** Starts following (does not wait for the link). */
  start(): void {
    if (this.#running || this.#closed) return;
    this.#db.on('up', this.#onUp);
    this.#db.on('down', this.#onDown);
    this.#running = this.#run().catch((err: unknown) => this.#log.error('the change feed stopped', { err }));
  }

  /** Stops following: the request in flight is left to end with the link (it changes nothing when it does). */
  async close(): Promise<void> {
    this.#closed = true;
    this.#db.off('up', this.#onUp);
    this.#db.off('down', this.#onDown);
    this.#caughtUpAt = undefined;
    this.#wake?.();
    // The loop may be inside a long wait; it ends when the link closes. Not awaited here.
  }

  async #run(): Promise<void> {
    while (!this.#closed) {
      if (!this.#db.connected) {
        await this.#pause(60_000);
        continue;
      }
      try {
        if (this.#seq === undefined) await this.#learnHead();
        else await this.#follow(this.#seq);
        this.#failures = 0;
      } catch (err) {
        this.#caughtUpAt = undefined;
        if (this.#closed) return;
        this.#failures++;
        const pauseMs = Math.min(this.#retryMs * 2 ** Math.min(this.#failures - 1, 16), MAX_RETRY_MS);
        if (this.#db.connected) this.#log.warn('changes.next failed; asking again', { after: this.#seq, pauseMs, err });
        await this.#pause(pauseMs);
      }
    }
  }

  async #learnHead(): Promise<void> {
    const { head } = await this.#db.ask(changesNext, { after: 0, limit: 1, waitMs: 0 });
    if (this.#closed) return;
    this.#seq = head;
    this.#metrics?.changeSeq(head);
    this.#log.info('following the change feed', { from: head });
    this.#reset();
    this.#caughtUpAt = performance.now();
  }

  async #follow(after: number): Promise<void> {
    this.#waiting = true;
    let reply;
    try {
      // Not live (just reconnected, after a failure, behind by more than a batch): catch up without waiting, so that it is live again at once.
      const waitMs = this.#caughtUpAt === undefined ? 0 : this.#waitMs;
      reply = await this.#db.ask(changesNext, { after, limit: this.#limit, waitMs }, waitMs + 10_000);
    } finally {
      this.#waiting = false;
    }
    // Applied only if nothing else moved the feed meanwhile (a catch-up may have: then the loop asks again from there).
    if (this.#closed || this.#seq !== after) return;
    this.#apply(after, reply);
  }

  /**
   * Applies every change up to the internal-db's head now, without waiting (one request, or a few
   * when more than a batch is behind), beside the long wait in flight: a web host calls it in every
   * worker before it answers a write, so that the write is seen by whichever worker answers next.
   * Never applies a change twice (the long wait's answer, older, is then dropped and asked again).
   */
  async catchUp(): Promise<void> {
    for (let round = 0; round < 4; round++) {
      const after = this.#seq;
      if (after === undefined || this.#closed || !this.#db.connected) return;
      const reply = await this.#db.ask(changesNext, { after, limit: this.#limit, waitMs: 0 });
      if (this.#closed || this.#seq === undefined) return;
      if (this.#seq !== after) {
        if (this.#seq >= reply.head) return; // the long wait applied as much meanwhile
        continue;
      }
      this.#apply(after, reply);
      if (this.#seq >= reply.head) return;
    }
  }

  /** Applies one `changes.next` answer asked after `after`, which is still the last sequence applied. */
  #apply(after: number, reply: ReplyOut<typeof changesNext>): void {
    if (reply.reset) {
      this.#log.warn('the change feed was reset: changes after our sequence are no longer kept; every cache is dropped', { after, head: reply.head });
      this.#metrics?.changeReset();
      this.#seq = reply.head;
      this.#metrics?.changeSeq(reply.head);
      this.#reset();
      this.#caughtUpAt = performance.now();
      return;
    }
    let seq = after;
    for (const change of reply.changes) {
      if (change.seq <= seq) continue; // never twice
      for (const listener of this.#listeners) {
        try {
          listener.change(change);
        } catch (err) {
          this.#log.error('a change listener failed; the feed goes on', { seq: change.seq, kind: change.kind, err });
        }
      }
      this.#seq = seq = change.seq;
    }
    this.#metrics?.changeSeq(seq);
    // Live only when this answer reached the head (a backlog longer than `limit` is not the present).
    this.#caughtUpAt = seq >= reply.head && this.#db.connected ? performance.now() : undefined;
  }

  #reset(): void {
    for (const listener of this.#listeners) {
      try {
        listener.reset();
      } catch (err) {
        this.#log.error('a change listener failed to reset; the feed goes on', { err });
      }
    }
  }

  /** Waits `ms`, or less when woken (the link came up, close). */
  async #pause(ms: number): Promise<void> {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, ms);
      const wake = () => done();
      this.#wake = wake;
      function done() {
        clearTimeout(timer);
        resolve();
      }
    });
    this.#wake = undefined;
  }
}
