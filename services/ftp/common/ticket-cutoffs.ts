import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import type { TicketClaims } from '../../../lib/tickets/index.js';

/** The cut-off times (ms since the epoch) by scope: what the state file keeps and the HTTP workers are sent. */
export interface CutoffSnapshot {
  /** Every ticket (the change feed was reset: changes may have been missed). */
  all: number;
  /** By customer login: disabled, an entitlement revoked or expired. */
  customers: Record<string, number>;
  /** By product code: a EULA set before it. */
  products: Record<string, number>;
  /** By `product/version`: yanked. */
  releases: Record<string, number>;
}

export type CutoffScope = 'customer' | 'product' | 'release';

export function emptyCutoffs(): CutoffSnapshot {
  return { all: 0, customers: {}, products: {}, releases: {} };
}

/**
 * Download tickets issued before a change that affects them are refused: each change that takes
 * something away (a customer disabled, an entitlement revoked or expired, a release yanked, a EULA
 * set) leaves a cut-off time for its customer, product or release, and a ticket whose issue time
 * (TicketClaims.issuedAt; 0 for tickets without one) is not after every cut-off that covers it is
 * refused with ERR_TICKET_SUPERSEDED. The check runs after the signature check on every request, so
 * tickets the verifier remembers are checked too. Cut-offs older than the longest ticket lifetime
 * are dropped (`prune`): a ticket issued before them has expired anyway.
 */
export class TicketCutoffs {
  #all = 0;
  readonly #scopes: Record<CutoffScope, Map<string, number>> = { customer: new Map(), product: new Map(), release: new Map() };

  constructor(snapshot?: CutoffSnapshot) {
    if (snapshot) this.replace(snapshot);
  }

  /** Records a cut-off; returns whether it moved (a later one for the same key wins). */
  note(scope: CutoffScope | 'all', key: string, at: number): boolean {
    if (!Number.isFinite(at)) return false;
    if (scope === 'all') {
      if (at <= this.#all) return false;
      this.#all = at;
      return true;
    }
    const map = this.#scopes[scope];
    if ((map.get(key) ?? 0) >= at) return false;
    map.set(key, at);
    return true;
  }

  /** Throws ERR_TICKET_SUPERSEDED when a cut-off covering the ticket's customer or path is not before its issue time. */
  check(claims: TicketClaims): void {
    const issued = claims.issuedAt ?? 0;
    const [, product = '', version = ''] = claims.path.split('/', 3);
    const covering = Math.max(
      this.#all,
      this.#scopes.customer.get(claims.customer) ?? 0,
      this.#scopes.product.get(product) ?? 0,
      this.#scopes.release.get(`${product}/${version}`) ?? 0,
    );
    if (covering > 0 && issued <= covering) {
      throw FileHostErrors.TICKET_SUPERSEDED(
        `this download link was issued before a change to what you may download (at ${new Date(covering).toISOString()}): ask for a new link`,
      );
    }
  }

  /** Drops cut-offs before `before` (ms): tickets issued before them have expired. */
  prune(before: number): void {
    if (this.#all < before) this.#all = 0;
    for (const map of Object.values(this.#scopes)) for (const [key, at] of [...map]) if (at < before) map.delete(key);
  }

  snapshot(): CutoffSnapshot {
    return {
      all: this.#all,
      customers: Object.fromEntries(this.#scopes.customer),
      products: Object.fromEntries(this.#scopes.product),
      releases: Object.fromEntries(this.#scopes.release),
    };
  }

  /** Takes every cut-off from a snapshot (the state file at start; the file host's, in an HTTP worker). */
  replace(snapshot: CutoffSnapshot): void {
    this.#all = typeof snapshot.all === 'number' ? snapshot.all : 0;
    const load = (map: Map<string, number>, record: Record<string, number> | undefined) => {
      map.clear();
      for (const [key, at] of Object.entries(record ?? {})) if (typeof at === 'number' && Number.isFinite(at)) map.set(key, at);
    };
    load(this.#scopes.customer, snapshot.customers);
    load(this.#scopes.product, snapshot.products);
    load(this.#scopes.release, snapshot.releases);
  }
}
