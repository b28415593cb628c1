import { LRUCache } from 'lru-cache';

type SignedLink = { url: string; expiresAt: number };

/** Links remembered per file host at most (beyond, the least recently used is signed afresh next time). */
export const MAX_LINKS_PER_HOST = 10_000;

/**
 * Download links handed out moments ago, reused for the same customer, file host and file while
 * they are young: a link signed up to `reuseMs` ago still has nearly its whole lifetime, and
 * handing it out again spares an RSA signature (the dearest step of a link) and lets the file
 * host's ticket cache hit. Entitlements are still checked before every reuse; a prune, a yank or
 * a change that makes a customer's links stale (the change feed, fulfillment.ts) drops them; a
 * file host that leaves takes its links with it (its URL may change when it comes back, and a
 * link to a dead host must never be handed out). Concurrent requests for one key
 * share one signature; a signature that fails is forgotten at once (the next request signs again).
 */
export class TicketReuse {
  readonly #reuseMs: number;
  /** By file host name, then by customer and file: the signature, settled or in flight. */
  readonly #byHost = new Map<string, LRUCache<string, Promise<SignedLink>>>();

  /** `reuseMs`: a positive whole number of ms (lru-cache reads a ttl of 0 as "never expires"). */
  constructor(reuseMs: number) {
    this.#reuseMs = reuseMs;
  }

  get(host: string, key: string, sign: () => Promise<SignedLink>): Promise<SignedLink> {
    let links = this.#byHost.get(host);
    const reused = links?.get(key);
    if (reused) return reused;
    if (!links) this.#byHost.set(host, (links = new LRUCache({ max: MAX_LINKS_PER_HOST, ttl: this.#reuseMs })));
    const signed = sign();
    links.set(key, signed);
    signed.catch(() => {
      if (links.peek(key) === signed) links.delete(key);
    });
    return signed;
  }

  /** Forgets every link handed out to a customer (keys start with the customer's login and a NUL). */
  dropCustomer(customer: string): void {
    const prefix = `${customer}\u0000`;
    for (const links of this.#byHost.values()) for (const key of links.keys()) if (key.startsWith(prefix)) links.delete(key);
  }

  /** Forgets every link to `host` (it left). */
  dropHost(host: string): void {
    this.#byHost.delete(host);
  }

  clear(): void {
    this.#byHost.clear();
  }
}
