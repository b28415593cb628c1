import { ExpiringMap } from './expiring-map.js';

type SignedLink = { url: string; expiresAt: number };

/**
 * Download links handed out moments ago, reused for the same customer, file host and file while
 * they are young: a link signed up to `reuseMs` ago still has nearly its whole lifetime, and
 * handing it out again spares an RSA signature (the dearest step of a link) and lets the file
 * host's ticket cache hit. Entitlements are still checked before every reuse; a prune or a yank
 * clears everything; a file host that leaves takes its links with it (its URL may change when it
 * comes back, and a link to a dead host must never be handed out). Concurrent requests for one key
 * share one signature.
 */
export class TicketReuse {
  readonly #reuseMs: number;
  /** By file host name, then by customer and file. */
  readonly #byHost = new Map<string, ExpiringMap<Promise<SignedLink>>>();

  constructor(reuseMs: number) {
    this.#reuseMs = reuseMs;
  }

  get(host: string, key: string, sign: () => Promise<SignedLink>): Promise<SignedLink> {
    let entries = this.#byHost.get(host);
    const reused = entries?.get(key);
    if (reused) return reused;
    if (!entries) this.#byHost.set(host, (entries = new ExpiringMap(100_000)));
    const value = sign();
    entries.set(key, value, Date.now() + this.#reuseMs);
    value.catch(() => entries.delete(key));
    return value;
  }

  /** Forgets every link to `host` (it left). */
  dropHost(host: string): void {
    this.#byHost.delete(host);
  }

  clear(): void {
    this.#byHost.clear();
  }
}
