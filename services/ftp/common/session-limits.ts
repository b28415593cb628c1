import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';

/**
 * Open FTP and SFTP sessions, counted per customer and per client address, shared by both
 * protocols. `open` throws ERR_TOO_MANY_SESSIONS at a limit; the release it returns is idempotent.
 */
export class SessionLimits {
  readonly #perCustomer = new Map<string, number>();
  readonly #perAddress = new Map<string, number>();
  readonly #maxPerCustomer: number;
  readonly #maxPerAddress: number;

  constructor(options: { maxPerCustomer: number; maxPerAddress: number }) {
    this.#maxPerCustomer = options.maxPerCustomer;
    this.#maxPerAddress = options.maxPerAddress;
  }

  /** A new connection from `address` (before login). */
  connect(address: string): () => void {
    return this.#take(this.#perAddress, address, this.#maxPerAddress, `${address} has ${this.#maxPerAddress} connections open already`);
  }

  /** A session of `customer` (after login). */
  login(customer: string): () => void {
    return this.#take(this.#perCustomer, customer, this.#maxPerCustomer, `${customer} has ${this.#maxPerCustomer} sessions open already`);
  }

  #take(counts: Map<string, number>, key: string, max: number, message: string): () => void {
    const n = counts.get(key) ?? 0;
    if (n >= max) throw FileHostErrors.TOO_MANY_SESSIONS(message);
    counts.set(key, n + 1);
    let released = false;
    return () => {
      if (released) return;
      released = true;
      const left = (counts.get(key) ?? 1) - 1;
      if (left <= 0) counts.delete(key);
      else counts.set(key, left);
    };
  }
}
