import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';

/** A protocol whose connections log in (HTTP downloads carry a ticket instead). */
export type LoginProtocol = 'ftp' | 'sftp';

/**
 * A TCP connection let in at accept: it holds a slot of its address, and a slot among its
 * protocol's connections not yet logged in until `authenticated()` (or the release) gives that back.
 */
export interface Admission {
  /** The connection has logged in: its not-yet-authenticated slot is given back (idempotent). */
  authenticated(): void;
  /** The connection has closed: every slot it holds is given back (idempotent). */
  release(): void;
}

/** What SessionLimits counts now (for tests and diagnostics). */
export interface SessionCounts {
  customers: Record<string, number>;
  addresses: Record<string, number>;
  unauthenticated: Record<string, number>;
}

/**
 * Open FTP and SFTP connections and sessions, shared by both protocols: sessions per customer (after
 * login), connections per client address (from TCP accept), and connections not yet logged in, per
 * protocol and from every address together (so a flood of silent connections cannot take every
 * descriptor, and a flood on one protocol leaves the other alone). Each take throws
 * ERR_TOO_MANY_SESSIONS at its limit; every release is idempotent.
 */
export class SessionLimits {
  readonly #perCustomer = new Map<string, number>();
  readonly #perAddress = new Map<string, number>();
  readonly #unauthenticated = new Map<string, number>();
  readonly #maxPerCustomer: number;
  readonly #maxPerAddress: number;
  readonly #maxUnauthenticated: number;

  constructor(options: { maxPerCustomer: number; maxPerAddress: number; maxUnauthenticated?: number }) {
    this.#maxPerCustomer = options.maxPerCustomer;
    this.#maxPerAddress = options.maxPerAddress;
    this.#maxUnauthenticated = options.maxUnauthenticated ?? Number.MAX_SAFE_INTEGER;
  }

  /** A new TCP connection from `address` (before login). */
  connect(address: string, protocol: LoginProtocol): Admission {
    const releaseAddress = this.#take(this.#perAddress, address, this.#maxPerAddress, `${address} has ${this.#maxPerAddress} connections open already`);
    let releasePending: () => void;
    try {
      releasePending = this.#take(
        this.#unauthenticated,
        protocol,
        this.#maxUnauthenticated,
        `${this.#maxUnauthenticated} ${protocol} connections are waiting to log in already`,
      );
    } catch (err) {
      releaseAddress();
      throw err;
    }
    return {
      authenticated: releasePending,
      release: () => {
        releasePending();
        releaseAddress();
      },
    };
  }

  /** A session of `customer` (after login). */
  login(customer: string): () => void {
    return this.#take(this.#perCustomer, customer, this.#maxPerCustomer, `${customer} has ${this.#maxPerCustomer} sessions open already`);
  }

  counts(): SessionCounts {
    return {
      customers: Object.fromEntries(this.#perCustomer),
      addresses: Object.fromEntries(this.#perAddress),
      unauthenticated: Object.fromEntries(this.#unauthenticated),
    };
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
