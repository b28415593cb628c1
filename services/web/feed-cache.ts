import { LRUCache } from 'lru-cache';

/**
 * Answers of the internal-db remembered by key until the change feed drops them (or `ttlMs`
 * passes; 0: nothing is remembered). An answer asked for while something was dropped is not
 * remembered: it may predate the change. Take `mark()` before asking, and give it to `set`.
 */
export class FeedCache<V extends object> {
  readonly #cache: LRUCache<string, V> | undefined;
  /** Counts the drops, for `mark`. */
  #drops = 0;

  constructor(options: { max: number; ttlMs: number }) {
    this.#cache = options.ttlMs > 0 ? new LRUCache({ max: options.max, ttl: options.ttlMs }) : undefined;
  }

  get(key: string): V | undefined {
    return this.#cache?.get(key);
  }

  /** Where the drops stand now: taken before the question whose answer `set` may remember. */
  mark(): number {
    return this.#drops;
  }

  /** Remembers an answer, unless something was dropped since `mark` was taken. */
  set(key: string, value: V, mark: number): void {
    if (mark === this.#drops) this.#cache?.set(key, value);
  }

  /** Forgets every answer `doomed` says is stale. */
  forgetWhere(doomed: (value: V) => boolean): void {
    this.#drops++;
    if (!this.#cache) return;
    const keys: string[] = [];
    for (const [key, value] of this.#cache.entries()) if (doomed(value)) keys.push(key);
    for (const key of keys) this.#cache.delete(key);
  }

  /** Forgets everything (the feed was reset). */
  clear(): void {
    this.#drops++;
    this.#cache?.clear();
  }
}
