import { ExpiringMap } from './expiring-map.js';

type SignedLink = { url: string; expiresAt: number };

/**
 * Download links handed out moments ago, reused for the same customer, file host and file while
 * they are young: a link signed up to `reuseMs` ago still has nearly its whole lifetime, and
 * handing it out again spares an RSA signature (the dearest step of a link) and lets the file
 * host's ticket cache hit. Entitlements are still checked before every reuse; a prune or a yank
 * clears everything. Concurrent requests for one key share one signature.
 */
export class TicketReuse {
  readonly #reuseMs: number;
  readonly #entries = new ExpiringMap<Promise<SignedLink>>(100_000);

  constructor(reuseMs: number) {
    this.#reuseMs = reuseMs;
  }

  get(key: string, sign: () => Promise<SignedLink>): Promise<SignedLink> {
    const reused = this.#entries.get(key);
    if (reused) return reused;
    const value = sign();
    this.#entries.set(key, value, Date.now() + this.#reuseMs);
    value.catch(() => this.#entries.delete(key));
    return value;
  }

  clear(): void {
    this.#entries.clear();
  }
}
