import { createHmac, randomBytes } from 'node:crypto';

/** What a successful login leaves for the next ones: who, and the moment it stops counting. */
export interface CachedLogin {
  customer: string;
  name: string;
  expiresAt: number;
}

/**
 * Successful FTP/SFTP logins, remembered for `ttlMs` (services.ftp.loginCacheSeconds): a
 * revocation in the internal-db takes effect within that time, or at once when the web host tells
 * the file host (stage, unstage, prune drop the customer's entries). Credentials are not kept:
 * entries are keyed by an HMAC of login and credential under a key that lives in this process only.
 * Logins that are being checked are shared: many sessions of one customer opening at once make
 * one trip through the chain. Failures are never remembered.
 */
export class LoginCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #secret = randomBytes(32);
  readonly #entries = new Map<string, CachedLogin>();
  readonly #inFlight = new Map<string, Promise<CachedLogin>>();
  readonly #now: () => number;

  constructor(options: { ttlMs: number; maxEntries?: number; now?: () => number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  key(login: string, credential: string): string {
    return createHmac('sha256', this.#secret).update(login).update('\u0000').update(credential).digest('base64');
  }

  /**
   * The remembered login for `key`, or the result of `check` (run once for all who ask while it
   * runs). A failed check rejects every waiter and is not remembered.
   */
  async get(key: string, check: () => Promise<{ customer: string; name: string }>): Promise<CachedLogin> {
    const now = this.#now();
    const hit = this.#entries.get(key);
    if (hit && hit.expiresAt > now) return hit;
    if (hit) this.#entries.delete(key);
    let pending = this.#inFlight.get(key);
    if (!pending) {
      pending = check().then((who) => {
        const entry = { ...who, expiresAt: this.#now() + this.#ttlMs };
        if (this.#ttlMs > 0) this.#remember(key, entry);
        return entry;
      });
      this.#inFlight.set(key, pending);
      void pending.finally(() => this.#inFlight.delete(key)).catch(() => {});
    }
    return pending;
  }

  /** Forgets every login of a customer (its entitlements or area changed). */
  invalidate(customer: string): void {
    for (const [key, entry] of this.#entries) if (entry.customer === customer) this.#entries.delete(key);
  }

  #remember(key: string, entry: CachedLogin): void {
    if (this.#entries.size >= this.#maxEntries) {
      const now = this.#now();
      for (const [k, e] of this.#entries) if (e.expiresAt <= now) this.#entries.delete(k);
      if (this.#entries.size >= this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
    }
    this.#entries.set(key, entry);
  }
}
