/**
 * Download links handed out moments ago, reused for the same customer, file host and file while
 * they are young: a link signed up to `reuseMs` ago still has nearly its whole lifetime, and
 * handing it out again spares an RSA signature (the dearest step of a link) and lets the file
 * host's ticket cache hit. Entitlements are still checked before every reuse; a prune or a yank
 * clears everything. Concurrent requests for one key share one signature.
 */
export class TicketReuse {
  readonly #reuseMs: number;
  readonly #entries = new Map<string, { value: Promise<{ url: string; expiresAt: number }>; signedAt: number }>();

  constructor(reuseMs: number) {
    this.#reuseMs = reuseMs;
  }

  async get(key: string, sign: () => Promise<{ url: string; expiresAt: number }>): Promise<{ url: string; expiresAt: number }> {
    const now = Date.now();
    const entry = this.#entries.get(key);
    if (entry && now - entry.signedAt < this.#reuseMs) return entry.value;
    if (this.#entries.size >= 100_000) this.#entries.clear();
    const value = sign();
    this.#entries.set(key, { value, signedAt: now });
    value.catch(() => this.#entries.delete(key));
    return value;
  }

  clear(): void {
    this.#entries.clear();
  }
}
