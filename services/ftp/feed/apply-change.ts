import type { Change } from '../../../lib/contracts/internal-db/changes.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { LoginCache } from '../common/login-cache.js';
import type { TicketCutoffs } from '../common/ticket-cutoffs.js';
import type { AreaSync } from '../staging/area-sync.js';
import type { ChangeTarget } from './change-feed.js';
import type { FeedState } from './feed-state.js';

export interface FeedApplierOptions {
  logins: LoginCache;
  areas: AreaSync;
  cutoffs: TicketCutoffs;
  /** Customers with an FTP or SFTP session open on this host now. */
  liveCustomers: () => string[];
  /** Ends every session and download of a customer (FileHostService.endCustomer). */
  endCustomer: (customer: string) => void;
  /** The cut-offs changed: the HTTP workers get them. */
  cutoffsChanged: () => void;
  /** Every cached fact is to go (a reset): the HTTP workers' open files. */
  dropCaches: () => void;
  /** Cut-offs older than this (ms) are dropped: the longest a ticket lives. */
  cutoffKeepMs: number;
  log: Logger;
}

/** Concurrent area runs when a change touches many customers. */
const FAN_OUT = 4;

/**
 * What each change of the feed does on a file host (services/ftp/README.md, "Change feed"):
 * logins forgotten, ticket cut-offs noted, sessions ended, areas re-synced or pruned. The parts
 * that protect (cut-offs, ended sessions, forgotten logins) happen at once; the area work is
 * awaited before the next change is applied.
 */
export class FeedApplier implements ChangeTarget {
  readonly #o: FeedApplierOptions;

  constructor(options: FeedApplierOptions) {
    this.#o = options;
  }

  async apply(change: Change): Promise<void> {
    const { logins, areas, log } = this.#o;
    const at = Date.parse(change.at);
    const customer = change.customer;
    const product = change.product;
    switch (change.kind) {
      case 'customer.disabled':
        if (!customer) return;
        this.#cutoff('customer', customer, at);
        this.#o.endCustomer(customer); // sessions closed, downloads cut, logins forgotten
        await areas.empty(customer);
        return;
      case 'customer.enabled':
      case 'customer.password_changed':
      case 'sshkey.added':
      case 'sshkey.removed':
        if (customer) logins.invalidate(customer); // a new login checks again; live sessions stay
        return;
      case 'entitlement.revoked':
      case 'entitlement.expired':
        if (!customer) return;
        this.#cutoff('customer', customer, at);
        logins.invalidate(customer);
        await this.#resync(customer);
        return;
      case 'entitlement.granted':
      case 'entitlement.starting':
      case 'eula.accepted':
        if (!customer) return;
        logins.invalidate(customer);
        await this.#resync(customer);
        return;
      case 'release.yanked':
        if (product && change.version) this.#cutoff('release', `${product}/${change.version}`, at);
        logins.clear();
        await this.#everywhere(product);
        return;
      case 'eula.set':
        if (product) this.#cutoff('product', product, at);
        logins.clear();
        await this.#everywhere(product);
        return;
      case 'vendor.disabled':
        logins.clear();
        await this.#everywhere(undefined);
        return;
      case 'release.published':
      case 'vendor.enabled':
        logins.clear();
        await this.#fanOut(this.#o.liveCustomers(), (c) => areas.sync(c));
        return;
      default:
        log.debug('change: nothing to do here', { seq: change.seq, kind: change.kind });
    }
  }

  async reset(firstStart: boolean): Promise<void> {
    const { logins, areas } = this.#o;
    logins.clear();
    this.#o.dropCaches();
    // Changes were missed (not at a first start: nothing here came from the feed): a ticket issued
    // before now may be stale, and so may any area.
    if (!firstStart) this.#cutoff('all', '', Date.now());
    const live = new Set(this.#o.liveCustomers());
    await this.#fanOut([...live], (c) => areas.sync(c));
    if (firstStart) return; // the areas were kept by the web host's orders until now
    // The other areas are pruned in the background: the feed goes on meanwhile (runs of one
    // customer's area are serialised by AreaSync, so a later change is not undone).
    void areas
      .customersWithArea()
      .then((all) =>
        this.#fanOut(
          all.filter((c) => !live.has(c)),
          (c) => areas.prune(c),
        ),
      )
      .catch((err: unknown) => this.#o.log.warn('areas not pruned after a reset of the change feed', { err }));
  }

  state(seq: number): FeedState {
    this.#o.cutoffs.prune(Date.now() - this.#o.cutoffKeepMs);
    return { seq, cutoffs: this.#o.cutoffs.snapshot() };
  }

  #cutoff(scope: 'customer' | 'product' | 'release' | 'all', key: string, at: number): void {
    if (this.#o.cutoffs.note(scope, key, at)) this.#o.cutoffsChanged();
  }

  /** A customer's own change: its area follows if it has a live session or an area here. */
  async #resync(customer: string): Promise<void> {
    const { areas } = this.#o;
    if (this.#o.liveCustomers().includes(customer) || (await areas.customersWithArea()).includes(customer)) await areas.sync(customer);
  }

  /** A product's change (or a vendor's: every product): live sessions re-synced, areas holding it pruned. */
  async #everywhere(product: string | undefined): Promise<void> {
    const { areas } = this.#o;
    const live = new Set(this.#o.liveCustomers());
    await this.#fanOut([...live], (c) => areas.sync(c));
    const holding = product === undefined ? await areas.customersWithArea() : await areas.customersHolding(product);
    await this.#fanOut(
      holding.filter((c) => !live.has(c)),
      (c) => areas.prune(c),
    );
  }

  async #fanOut(customers: readonly string[], run: (customer: string) => Promise<unknown>): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < customers.length) {
        const customer = customers[next++]!;
        try {
          await run(customer);
        } catch (err) {
          this.#o.log.warn('area not synced after a change', { customer, err });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(FAN_OUT, customers.length) }, worker));
  }
}
