/**
 * Stagings this web host did recently, so that a second download link for the same release does
 * not stage it again: by customer and release, with the file host that holds it, for `ttlMs`. The
 * entitlement is still checked every time; what is remembered is only that the links exist. An
 * entry is dropped when its file host leaves, when the customer is pruned, and at expiry.
 */
export class StagedCache<T> {
  readonly #ttlMs: number;
  readonly #entries = new Map<string, Map<string, { host: string; value: T; until: number }>>();

  constructor(ttlMs: number) {
    this.#ttlMs = ttlMs;
  }

  get(customer: string, release: string, hostAlive: (host: string) => boolean): T | undefined {
    const entry = this.#entries.get(customer)?.get(release);
    if (!entry) return undefined;
    if (entry.until <= Date.now() || !hostAlive(entry.host)) {
      this.#entries.get(customer)!.delete(release);
      return undefined;
    }
    return entry.value;
  }

  set(customer: string, release: string, host: string, value: T): void {
    if (this.#ttlMs <= 0) return;
    if (this.#entries.size >= 100_000) this.#entries.clear();
    let releases = this.#entries.get(customer);
    if (!releases) this.#entries.set(customer, (releases = new Map()));
    releases.set(release, { host, value, until: Date.now() + this.#ttlMs });
  }

  dropCustomer(customer: string): void {
    this.#entries.delete(customer);
  }

  dropHost(host: string): void {
    for (const releases of this.#entries.values()) for (const [release, entry] of releases) if (entry.host === host) releases.delete(release);
  }

  clear(): void {
    this.#entries.clear();
  }
}
