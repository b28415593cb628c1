import { LRUCache } from 'lru-cache';

/** Stagings remembered at most (customer and release pairs; beyond, the least recently used is forgotten). */
export const MAX_STAGINGS = 10_000;

/**
 * Stagings this web host did recently, so that a second download link for the same release does
 * not stage it again: by customer and release, with the file host that holds it, for `ttlMs` (0:
 * nothing is remembered). The entitlement is still checked every time; what is remembered is only
 * that the links exist. An entry is dropped when its file host leaves, when the customer is pruned,
 * on a change that makes it stale (the change feed, fulfillment.ts), and at expiry.
 */
export class StagedCache<T> {
  /** By `customer\0release`. */
  readonly #entries: LRUCache<string, { host: string; value: T }> | undefined;

  constructor(ttlMs: number) {
    this.#entries = ttlMs > 0 ? new LRUCache({ max: MAX_STAGINGS, ttl: ttlMs }) : undefined;
  }

  get(customer: string, release: string, hostAlive: (host: string) => boolean): T | undefined {
    const key = keyOf(customer, release);
    const entry = this.#entries?.get(key);
    if (!entry) return undefined;
    if (!hostAlive(entry.host)) {
      this.#entries!.delete(key);
      return undefined;
    }
    return entry.value;
  }

  set(customer: string, release: string, host: string, value: T): void {
    this.#entries?.set(keyOf(customer, release), { host, value });
  }

  dropCustomer(customer: string): void {
    const prefix = keyOf(customer, '');
    this.#dropWhere((key) => key.startsWith(prefix));
  }

  dropHost(host: string): void {
    this.#dropWhere((_key, entry) => entry.host === host);
  }

  clear(): void {
    this.#entries?.clear();
  }

  /** Collected first, then deleted: the cache is not changed while it is walked. */
  #dropWhere(drop: (key: string, entry: { host: string; value: T }) => boolean): void {
    if (!this.#entries) return;
    const doomed: string[] = [];
    for (const [key, entry] of this.#entries.entries()) if (drop(key, entry)) doomed.push(key);
    for (const key of doomed) this.#entries.delete(key);
  }
}

function keyOf(customer: string, release: string): string {
  return `${customer}\u0000${release}`;
}
