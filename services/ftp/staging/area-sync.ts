import { readdir } from 'node:fs/promises';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { everyPage, MAX_PAGE } from '../../../lib/contracts/page.js';
import { isError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { Areas } from '../common/areas.js';
import type { WebLink } from '../common/web-link.js';
import type { Repository } from '../repository/repository.js';
import type { StageItem, Stager } from './stager.js';

/** What a sync did to an area. */
export interface SyncResult {
  staged: number;
  /** Artifacts the customer may have whose object is not in this repository (on another file host). */
  skipped: number;
  /** Paths taken out of the area. */
  removed: string[];
}

export interface AreaSyncOptions {
  link: Pick<WebLink, 'ask'>;
  stager: Stager;
  repo: Repository;
  areas: Areas;
  log: Logger;
  /** Told the paths a sync took out of a customer's area (their transfers in progress are cut off). */
  onRemoved: (customer: string, paths: readonly string[]) => void;
}

/**
 * Areas follow entitlements: `sync` makes a customer's area hold exactly the releases the customer
 * may have now (release.resolve through the web host: granted, published, not behind a EULA the
 * customer has not accepted), staging every one whose objects are in this repository (hard links,
 * O(files); one already there costs a link attempt and an lstat) and removing the rest; `prune`
 * only removes. Runs for one customer are serialised (a sync asked for while one runs runs once
 * more after it, however many ask), so an older answer never undoes a newer one.
 */
export class AreaSync {
  readonly #o: AreaSyncOptions;
  /** Per customer: the run in progress, and the one queued after it (shared by all who ask meanwhile). */
  readonly #running = new Map<string, Promise<SyncResult>>();
  readonly #queued = new Map<string, { mode: 'sync' | 'prune'; run: Promise<SyncResult> }>();

  constructor(options: AreaSyncOptions) {
    this.#o = options;
  }

  /** Stages every release the customer may have now and removes the rest. */
  sync(customer: string): Promise<SyncResult> {
    return this.#enqueue(customer, 'sync');
  }

  /** Removes from the area every release the customer may no longer have (stages nothing). */
  prune(customer: string): Promise<SyncResult> {
    return this.#enqueue(customer, 'prune');
  }

  /** Empties the area (the customer was disabled). */
  empty(customer: string): Promise<SyncResult> {
    return this.#enqueue(customer, 'empty');
  }

  /**
   * Runs `task` on the customer's area when no sync of it runs (the web host's stage, unstage and
   * prune orders), so that a sync's older answer does not undo it half-way.
   */
  exclusive<T>(customer: string, task: () => Promise<T>): Promise<T> {
    let result: T;
    return this.#after(customer, async () => {
      result = await task();
      return { staged: 0, skipped: 0, removed: [] };
    }).then(() => result);
  }

  /** Resolves when no run for the customer is in progress or queued (at once when none is). */
  async idle(customer: string): Promise<void> {
    for (;;) {
      const pending = this.#queued.get(customer)?.run ?? this.#running.get(customer);
      if (!pending) return;
      await pending.catch(() => undefined);
    }
  }

  /** Customers with an area on this host (a folder under the areas directory). */
  async customersWithArea(): Promise<string[]> {
    const entries = await readdir(this.#o.areas.dir, { withFileTypes: true }).catch(() => []);
    return entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name);
  }

  /** Customers whose area holds something of `product`. */
  async customersHolding(product: string): Promise<string[]> {
    const out: string[] = [];
    for (const customer of await this.customersWithArea()) {
      const entries = await readdir(`${this.#o.areas.dir}/${customer}`).catch(() => [] as string[]);
      if (entries.includes(product)) out.push(customer);
    }
    return out;
  }

  #enqueue(customer: string, mode: 'sync' | 'prune' | 'empty'): Promise<SyncResult> {
    if (mode === 'empty') return this.#after(customer, () => this.#run(customer, 'empty')); // never merged: it must happen
    const queued = this.#queued.get(customer);
    if (queued && (queued.mode === 'sync' || mode === 'prune')) return queued.run; // a queued sync covers a prune
    if (queued) {
      queued.mode = 'sync'; // a prune queued, a sync asked: the queued run becomes a sync
      return queued.run;
    }
    const running = this.#running.get(customer);
    if (!running) return this.#start(customer, () => this.#run(customer, mode));
    const entry = { mode, run: undefined as unknown as Promise<SyncResult> };
    entry.run = running
      .catch(() => undefined)
      .then(() => {
        this.#queued.delete(customer);
        return this.#start(customer, () => this.#run(customer, entry.mode));
      });
    this.#queued.set(customer, entry);
    return entry.run;
  }

  /** Runs `task` after whatever runs or waits for the customer now. */
  #after(customer: string, task: () => Promise<SyncResult>): Promise<SyncResult> {
    const before = this.#queued.get(customer)?.run ?? this.#running.get(customer);
    if (!before) return this.#start(customer, task);
    return before.catch(() => undefined).then(() => this.#after(customer, task));
  }

  #start(customer: string, task: () => Promise<SyncResult>): Promise<SyncResult> {
    const run = task().finally(() => {
      if (this.#running.get(customer) === run) this.#running.delete(customer);
    });
    this.#running.set(customer, run);
    return run;
  }

  async #run(customer: string, mode: 'sync' | 'prune' | 'empty'): Promise<SyncResult> {
    const { stager, log } = this.#o;
    let allowed: { product: string; version: string }[] = [];
    let items: StageItem[] = [];
    let skipped = 0;
    if (mode !== 'empty') {
      let artifacts: InternalDb.ResolvedArtifact[];
      try {
        artifacts = await everyPage(async (cursor) => {
          const { artifacts: page, next } = await this.#o.link.ask(InternalDb.releaseResolve, { customer, cursor, limit: MAX_PAGE });
          return { items: page, next };
        });
      } catch (err) {
        if (!isError(err, FileHostErrors.NOT_FOUND)) throw err;
        artifacts = []; // no such customer (any more): nothing may stay
      }
      const usable = artifacts.filter((a) => a.eulaAccepted);
      allowed = usable.map((a) => ({ product: a.product, version: a.version }));
      if (mode === 'sync') {
        const present = await Promise.all(
          usable.map((a) =>
            this.#o.repo.statObject(a.objectId).then(
              () => true,
              () => false,
            ),
          ),
        );
        items = usable.filter((_a, n) => present[n]);
        skipped = usable.length - items.length;
        if (skipped > 0)
          log.debug('area sync: objects not in this repository skipped', {
            customer,
            skipped: usable.filter((_a, n) => !present[n]).map((a) => `${a.product}/${a.version}/${a.filename}`),
          });
      }
    }
    const staged = items.length > 0 ? await stager.stage(customer, items) : [];
    const removed = await stager.prune(customer, allowed);
    if (removed.length > 0) this.#o.onRemoved(customer, removed);
    const fresh = staged.filter((f) => f.method !== 'already').length;
    if (fresh > 0) log.info('area synced with entitlements', { customer, staged: fresh, removed: removed.length });
    return { staged: fresh, skipped, removed };
  }
}
