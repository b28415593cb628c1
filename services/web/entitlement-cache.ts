import { LRUCache } from 'lru-cache';
import type { Change, ChangeKind } from '../../lib/contracts/internal-db/changes.js';
import type * as InternalDb from '../../lib/contracts/internal-db/index.js';
import type { RequestIn } from '../../lib/contracts/operation.js';

type ResolvedArtifact = InternalDb.ResolvedArtifact;

/** What narrows the artifacts a customer may have (release.resolve's filters). */
export type ResolveFilter = Omit<RequestIn<typeof InternalDb.releaseResolve>, 'customer' | 'limit' | 'cursor'>;

/** Customers whose artifacts are remembered at most (beyond, the least recently used is forgotten). */
export const MAX_CUSTOMERS = 100_000;

/**
 * The longest a customer's artifacts are remembered, in ms. Freshness comes from the change feed
 * (a relevant change drops the entry within the feed's second, and nothing is trusted while the
 * feed is not live); this bound only limits what a missed change could cost. Not configurable: no
 * deployment needs another value.
 */
export const MAX_AGE_MS = 60_000;

/** Changes that make nothing stale here: they change no grant, release, EULA or customer state. */
const HARMLESS: ReadonlySet<ChangeKind> = new Set<ChangeKind>(['token.created', 'token.revoked', 'sshkey.added', 'sshkey.removed', 'download.completed']);

/** Changes that make one customer's artifacts stale (every customer's when the change names none). */
function customerScoped(kind: ChangeKind): boolean {
  return kind.startsWith('entitlement.') || kind.startsWith('customer.') || kind === 'eula.accepted';
}

export interface EntitlementCacheOptions {
  /** Asks the internal-db for the customer's artifacts now, unfiltered, every page. */
  resolve: (customer: string) => Promise<ResolvedArtifact[]>;
  /** True while the change feed is live (change-feed.ts `live`): nothing remembered is used otherwise. */
  live: () => boolean;
  maxCustomers?: number;
  maxAgeMs?: number;
}

/**
 * The artifacts each customer may download now (release.resolve, unfiltered), remembered in this
 * process until the change feed says they may have changed:
 * - entitlement.*, customer.*, eula.accepted drop that customer (everyone when none is named);
 * - token.*, sshkey.*, download.completed drop nothing;
 * - anything else (release.*, artifact.added, eula.set/created, vendor.*, product.*, a kind added
 *   later) and a reset drop everything.
 *
 * Invariants: an entry is used only while the feed is live (its link up, its long wait answering in
 * time, caught up with the head), so a revocation made while the feed was down is never missed; an
 * answer asked for while anything was dropped, or while the feed was not live, is not remembered (it
 * may predate the change); entries go after MAX_AGE_MS whatever the feed says. Time-based changes
 * (entitlement.starting/expiring/expired) come through the feed from the internal-db's change clock,
 * so an entry is "as of now" within the feed's second.
 */
export class EntitlementCache {
  readonly #resolve: (customer: string) => Promise<ResolvedArtifact[]>;
  readonly #live: () => boolean;
  readonly #cache: LRUCache<string, readonly ResolvedArtifact[]>;
  /** Counts the drops: an answer asked for before a drop is not remembered. */
  #drops = 0;
  #asked = 0;

  constructor(options: EntitlementCacheOptions) {
    this.#resolve = options.resolve;
    this.#live = options.live;
    this.#cache = new LRUCache({ max: options.maxCustomers ?? MAX_CUSTOMERS, ttl: options.maxAgeMs ?? MAX_AGE_MS });
  }

  /** The customer's artifacts: remembered (the feed live), or asked now. */
  async artifacts(customer: string): Promise<readonly ResolvedArtifact[]> {
    if (this.#live()) {
      const hit = this.#cache.get(customer);
      if (hit) return hit;
    }
    return this.fresh(customer);
  }

  /** The customer's artifacts asked now (remembered for the next time when nothing changed meanwhile and the feed is live). */
  async fresh(customer: string): Promise<readonly ResolvedArtifact[]> {
    const mark = this.#drops;
    const live = this.#live();
    this.#asked++;
    const artifacts = Object.freeze(await this.#resolve(customer));
    if (live && mark === this.#drops && this.#live()) this.#cache.set(customer, artifacts);
    return artifacts;
  }

  /** How many times the internal-db was asked (a customer not remembered, the feed not live, a refusal asked again). */
  get asked(): number {
    return this.#asked;
  }

  /** How many customers are remembered (tests, metrics). */
  get size(): number {
    return this.#cache.size;
  }

  /** Forgets one customer's artifacts. */
  forgetCustomer(customer: string): void {
    this.#drops++;
    this.#cache.delete(customer);
  }

  /** Forgets everything. */
  clear(): void {
    this.#drops++;
    this.#cache.clear();
  }

  /** The change feed's listener (see the class comment for what each change drops). */
  readonly listener = {
    change: (change: Change): void => {
      if (HARMLESS.has(change.kind)) return;
      if (customerScoped(change.kind) && change.customer !== undefined) this.forgetCustomer(change.customer);
      else this.clear();
    },
    reset: (): void => this.clear(),
  };
}

/**
 * Whether an artifact passes release.resolve's filters, exactly as the internal-db applies them
 * (services/internal-db/store/entitlements.ts `grantedReleases` and `resolve`): product, version
 * and channel equal; platform and arch equal or `any`. Filtering the unfiltered list so gives the
 * filtered list in the same order (test/web-entitlement-cache.test.ts compares the two).
 */
export function matchesFilter(a: ResolvedArtifact, filter: ResolveFilter): boolean {
  return (
    (filter.product === undefined || a.product === filter.product) &&
    (filter.version === undefined || a.version === filter.version) &&
    (filter.channel === undefined || a.channel === filter.channel) &&
    (filter.platform === undefined || a.platform === filter.platform || a.platform === 'any') &&
    (filter.arch === undefined || a.arch === filter.arch || a.arch === 'any')
  );
}
