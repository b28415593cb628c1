import { createHmac, randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { cacheClock } from '../../../lib/cache-clock.js';

/** What a successful login leaves for the next ones: who. */
export interface CachedLogin {
  customer: string;
  name: string;
}

/** The default of `maxEntries`. */
const MAX_LOGINS = 10_000;

/**
 * Successful FTP/SFTP logins, remembered for `ttlMs` (services.ftp.loginCacheSeconds; 0: never).
 * The change feed drops them when they go stale (a password changed, a key removed, the customer
 * disabled, its entitlements or releases changed: services/ftp/feed), and so does any change to the
 * customer's area (stage, unstage, prune); `ttlMs` is only a bound for while the link to the web
 * host is down. Credentials are not kept:
 * entries are keyed by an HMAC of login and credential under a key that lives in this process only.
 * Logins that are being checked are shared: many sessions of one customer opening at once make
 * one trip through the chain. Failures are never remembered.
 */
export class LoginCache {
  readonly #secret = randomBytes(32);
  readonly #entries: LRUCache<string, CachedLogin> | undefined;
  /** Checks in flight, by key: settled ones are removed (a success is then in #entries). */
  readonly #inFlight = new Map<string, Promise<CachedLogin>>();
  /** Moves at every invalidate and clear. */
  #generation = 0;

  /** `now`: a clock for tests (ms; see cacheClock). */
  constructor(options: { ttlMs: number; maxEntries?: number; now?: () => number }) {
    this.#entries = options.ttlMs > 0 ? new LRUCache({ max: options.maxEntries ?? MAX_LOGINS, ttl: options.ttlMs, ...cacheClock(options.now) }) : undefined;
  }

  key(login: string, credential: string): string {
    return createHmac('sha256', this.#secret).update(login).update('\u0000').update(credential).digest('base64');
  }

  /**
   * The remembered login for `key`, or the result of `check` (run once for all who ask while it
   * runs). A failed check rejects every waiter and is not remembered.
   */
  async get(key: string, check: () => Promise<CachedLogin>): Promise<CachedLogin> {
    const hit = this.#entries?.get(key);
    if (hit) return hit;
    let pending = this.#inFlight.get(key);
    if (!pending) {
      const generation = this.#generation;
      pending = check().then((who) => {
        // A check that began before a change dropped logins is not remembered: it may be stale.
        if (generation === this.#generation) this.#entries?.set(key, who);
        return who;
      });
      this.#inFlight.set(key, pending);
      void pending.finally(() => this.#inFlight.delete(key)).catch(() => {});
    }
    return pending;
  }

  /** Whether a success is remembered for `key` now. */
  has(key: string): boolean {
    return this.#entries?.has(key) ?? false;
  }

  /** Forgets every login (a product-wide change, or a reset of the change feed). */
  clear(): void {
    this.#generation++;
    this.#entries?.clear();
  }

  /** Forgets every login of a customer (its entitlements or area changed). */
  invalidate(customer: string): void {
    this.#generation++;
    if (!this.#entries) return;
    const doomed: string[] = [];
    for (const [key, who] of this.#entries.entries()) if (who.customer === customer) doomed.push(key);
    for (const key of doomed) this.#entries.delete(key); // collected first: the cache is not changed while it is walked
  }
}
