import type { Logger } from '../../lib/log/logger.js';
import type { Store } from './store/index.js';

export interface ChangeClockOptions {
  /** How long before an entitlement's expiry entitlement.expiring is recorded, in ms. */
  expiringNoticeMs: number;
  /** The longest the clock sleeps between two looks (it also wakes at the next due time, and on a grant). */
  maxSleepMs?: number;
  /** How many changes of each kind one look records at most (a backlog is worked off in further looks, at once). */
  batch?: number;
  log: Logger;
}

/**
 * Records the time-based changes of entitlements when their time comes (starting, expiring,
 * expired): looks at start, then sleeps until the next due time, never more than `maxSleepMs`
 * (1 s: a change is recorded within a second of its time), and is woken by a grant, which may bring
 * the next due time closer. What is due is read from the database with the store's clock, so a
 * change that fell due while the service was down is recorded at its first look, and one already
 * recorded (its *_noted flag, set in the same transaction) never again.
 */
export class ChangeClock {
  readonly #store: Store;
  readonly #expiringNoticeMs: number;
  readonly #maxSleepMs: number;
  readonly #batch: number;
  readonly #log: Logger;
  #timer: NodeJS.Timeout | undefined;
  #closed = false;

  constructor(store: Store, options: ChangeClockOptions) {
    this.#store = store;
    this.#expiringNoticeMs = options.expiringNoticeMs;
    this.#maxSleepMs = options.maxSleepMs ?? 1000;
    this.#batch = options.batch ?? 500;
    this.#log = options.log;
  }

  /** Looks now, and from then on by itself. */
  start(): void {
    this.#store.entitlements.onGrant = () => this.wake();
    this.#look();
  }

  /** Looks again soon (after the current transaction): something may fall due sooner than the clock sleeps. */
  wake(): void {
    if (this.#closed) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.#look(), 0);
    this.#timer.unref();
  }

  /** Records what is due now; returns how many changes. */
  tick(): number {
    return this.#store.transaction(() => this.#store.entitlements.recordDue(this.#expiringNoticeMs, this.#batch));
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    if (this.#store.entitlements.onGrant) this.#store.entitlements.onGrant = undefined;
  }

  #look(): void {
    if (this.#closed || !this.#store.db.open) return;
    let sleep = this.#maxSleepMs;
    try {
      // A full batch of some kind may leave more due: look again at once.
      if (this.tick() >= this.#batch) sleep = 0;
      else {
        // A next time not after now is one that waits for something else (an expiring notice waits
        // for the start): the clock's second covers it, and it must not spin.
        const next = this.#store.entitlements.nextDueAt(this.#expiringNoticeMs);
        const now = this.#store.clock();
        if (next !== null && next > now) sleep = Math.min(sleep, next - now);
      }
    } catch (err) {
      this.#log.error('recording time-based changes failed', { err });
    }
    this.#timer = setTimeout(() => this.#look(), sleep);
    this.#timer.unref();
  }
}
