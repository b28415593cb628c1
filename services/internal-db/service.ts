import type { AddressInfo } from 'node:net';
import { CommlinkClient, CommlinkServer, type CommlinkOptions, type KeyBag } from '../../lib/commlink/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { Backups } from './backup.js';
import { ChangeClock } from './change-clock.js';
import { openDatabase, type Db } from './db/open.js';
import { makeHandlers } from './ops/index.js';
import type { Clock } from './store/clock.js';
import { Store } from './store/index.js';

export interface InternalDbOptions {
  dbPath: string;
  synchronous: 'full' | 'normal';
  scryptLogN: number;
  authCacheSeconds: number;
  backupDir: string;
  backupIntervalMinutes: number;
  backupKeep: number;
  /** listen: accept the web host's connections; dial: connect out to the web host and serve over it. */
  mode: 'listen' | 'dial';
  listenHost: string;
  listenPort: number;
  dialHost: string;
  dialPort: number;
  commlink: Partial<CommlinkOptions> & { bag: KeyBag };
  log: Logger;
  clock?: Clock;
  /** How long before an entitlement's expiry entitlement.expiring is recorded, in hours (default 168). */
  expiringNoticeHours?: number;
  /** How long the change log keeps a change, in days (default 30); pruned at start and hourly. */
  changeLogDays?: number;
}

const HOUR_MS = 3_600_000;

/**
 * The internal-db service: the database behind its named commlink operations, reachable only over
 * the commlink, in either connection mode, with scheduled online backups, the change clock
 * (time-based changes) and the change log's retention.
 */
export class InternalDbService {
  readonly db: Db;
  readonly store: Store;
  readonly backups: Backups;
  readonly changeClock: ChangeClock;
  readonly #changeLogMs: number;
  #pruneTimer: NodeJS.Timeout | undefined;
  readonly #server: CommlinkServer | undefined;
  readonly #client: CommlinkClient | undefined;
  readonly #log: Logger;
  #address: AddressInfo | undefined;

  private constructor(options: InternalDbOptions) {
    this.#log = options.log;
    this.db = openDatabase(options.dbPath, { synchronous: options.synchronous });
    this.store = new Store(this.db, { clock: options.clock, scryptLogN: options.scryptLogN, authCacheMs: options.authCacheSeconds * 1000 });
    this.backups = new Backups(this.db, options.backupDir, options.backupKeep);
    this.changeClock = new ChangeClock(this.store, { expiringNoticeMs: (options.expiringNoticeHours ?? 168) * HOUR_MS, log: options.log });
    this.#changeLogMs = (options.changeLogDays ?? 30) * 24 * HOUR_MS;
    const handlers = makeHandlers({ store: this.store, log: options.log, backup: (name) => this.backups.backup(name) });
    const commlink = { ...options.commlink, handlers, log: options.log };
    if (options.mode === 'listen') this.#server = new CommlinkServer(commlink);
    else this.#client = new CommlinkClient({ ...commlink, host: options.dialHost, port: options.dialPort });
  }

  static async start(options: InternalDbOptions): Promise<InternalDbService> {
    const service = new InternalDbService(options);
    try {
      // Before the first request: what fell due while the service was down is recorded now.
      service.changeClock.start();
      service.pruneChanges();
      service.#pruneTimer = setInterval(() => service.pruneChanges(), HOUR_MS);
      service.#pruneTimer.unref();
      if (service.#server) {
        service.#address = await service.#server.listen(options.listenPort, options.listenHost);
        options.log.info('internal-db listening', { address: `${service.#address.address}:${service.#address.port}`, db: options.dbPath });
      } else {
        service.#client!.on('connect', () => options.log.info('internal-db connected to the web host', { target: `${options.dialHost}:${options.dialPort}` }));
        service.#client!.on('disconnect', (err?: Error) => options.log.warn('internal-db lost the web host', { reason: err?.message }));
        void service.#client!.connect().catch(() => {}); // keeps dialling with back-off
        options.log.info('internal-db dialling the web host', { target: `${options.dialHost}:${options.dialPort}`, db: options.dbPath });
      }
      service.backups.schedule(options.backupIntervalMinutes * 60_000, (err) => options.log.error('scheduled backup failed', { err }));
    } catch (err) {
      await service.close();
      throw err;
    }
    return service;
  }

  /**
   * Deletes the changes older than the retention (always keeping the newest): a subscriber that
   * resumes from a pruned sequence gets `reset`. Runs at start and hourly; returns how many went.
   */
  pruneChanges(): number {
    try {
      const pruned = this.store.changes.prune(this.#changeLogMs);
      if (pruned > 0) this.#log.info('change log pruned', { pruned });
      return pruned;
    } catch (err) {
      this.#log.error('pruning the change log failed', { err });
      return 0;
    }
  }

  /** Listen mode: the bound address. */
  get address(): AddressInfo | undefined {
    return this.#address;
  }

  /** Dial mode: true while connected to the web host. */
  get connected(): boolean {
    return this.#client?.connected ?? false;
  }

  /** Stops taking requests, lets those in flight finish, then closes the database. */
  async close(graceMs = 5000): Promise<void> {
    this.changeClock.close();
    clearInterval(this.#pruneTimer);
    this.store.changes.close(); // answers the subscribers' waits now, not after the grace
    await this.#server?.close(graceMs);
    await this.#client?.close(graceMs);
    await this.backups.close();
    if (this.db.open) this.db.close();
    this.#log.info('internal-db closed');
  }
}
