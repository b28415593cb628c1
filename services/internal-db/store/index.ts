import type { Db } from '../db/open.js';
import { VerifiedPasswordCache } from '../passwords.js';
import { Audit } from './audit.js';
import { Catalogue } from './catalogue.js';
import { ChangeLog } from './changes.js';
import { systemClock, type Clock } from './clock.js';
import { Customers } from './customers.js';
import { Entitlements } from './entitlements.js';
import { Eulas } from './eulas.js';
import { Sessions } from './sessions.js';
import { Stagings } from './stagings.js';
import { Webhooks } from './webhooks.js';

export interface StoreOptions {
  clock?: Clock;
  /** scrypt cost (N = 2^logN) for new password hashes. */
  scryptLogN?: number;
  /** How long a verified password is remembered, in ms (0: never). */
  authCacheMs?: number;
}

/** Every table of the internal-db behind its named methods; one instance per open database. */
export class Store {
  readonly db: Db;
  readonly clock: Clock;
  readonly scryptLogN: number;
  readonly catalogue: Catalogue;
  readonly customers: Customers;
  readonly entitlements: Entitlements;
  readonly eulas: Eulas;
  readonly stagings: Stagings;
  readonly sessions: Sessions;
  readonly audit: Audit;
  readonly changes: ChangeLog;
  readonly webhooks: Webhooks;
  readonly passwordCache: VerifiedPasswordCache;

  constructor(db: Db, options: StoreOptions = {}) {
    this.db = db;
    this.clock = options.clock ?? systemClock;
    this.scryptLogN = options.scryptLogN ?? 15;
    // Every class that changes a fact records the change in the log, next to the write.
    this.changes = new ChangeLog(db, this.clock);
    this.catalogue = new Catalogue(db, this.clock, this.changes);
    this.customers = new Customers(db, this.clock, this.changes);
    this.entitlements = new Entitlements(db, this.clock, this.catalogue, this.changes);
    this.eulas = new Eulas(db, this.clock, this.changes);
    this.stagings = new Stagings(db, this.clock);
    this.sessions = new Sessions(db, this.clock, this.changes);
    this.audit = new Audit(db, this.changes);
    this.webhooks = new Webhooks(db, this.clock, this.changes);
    this.passwordCache = new VerifiedPasswordCache(options.authCacheMs ?? 300_000);
  }

  /** Row counts of the main tables (for db.info). */
  counts(): { customers: number; products: number; releases: number; entitlements: number; downloadEvents: number } {
    const count = (table: string) => (this.db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
    return {
      customers: count('customers'),
      products: count('products'),
      releases: count('releases'),
      entitlements: count('entitlements'),
      downloadEvents: count('download_events'),
    };
  }

  /** Runs `fn` in one transaction: all its writes land, or none. */
  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}
