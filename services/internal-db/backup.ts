import { mkdir, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Db } from './db/open.js';
import { InternalDbErrors } from '../../lib/contracts/internal-db/errors.js';

/**
 * Online backups with better-sqlite3's backup API: a consistent copy while the service keeps
 * serving. Scheduled backups are named `scheduled-<time>.sqlite` and pruned to `keep`; named
 * backups (on demand) are never pruned.
 */
export class Backups {
  readonly #db: Db;
  readonly #dir: string;
  readonly #keep: number;
  #timer: NodeJS.Timeout | undefined;
  #running: Promise<unknown> | undefined;

  constructor(db: Db, dir: string, keep: number) {
    this.#db = db;
    this.#dir = dir;
    this.#keep = keep;
  }

  /** Writes a backup now; `name` (a plain file name) defaults to one made of the time. */
  async backup(name?: string): Promise<{ path: string; pages: number; ms: number }> {
    await mkdir(this.#dir, { recursive: true, mode: 0o700 });
    const path = join(this.#dir, name ?? `backup-${stamp()}.sqlite`);
    const started = Date.now();
    try {
      const result = await this.#db.backup(path);
      return { path, pages: result.totalPages, ms: Date.now() - started };
    } catch (err) {
      throw InternalDbErrors.BACKUP_FAILED(`backup to ${path} failed: ${(err as Error).message}`, {}, err);
    }
  }

  /** Starts the schedule; every interval writes one backup and prunes the oldest scheduled ones. */
  schedule(intervalMs: number, onError: (err: unknown) => void): void {
    if (intervalMs <= 0) return;
    this.#timer = setInterval(() => {
      if (this.#running) return;
      this.#running = this.backup(`scheduled-${stamp()}.sqlite`)
        .then(() => this.#prune())
        .catch(onError)
        .finally(() => (this.#running = undefined));
    }, intervalMs);
    this.#timer.unref();
  }

  async #prune(): Promise<void> {
    const files = (await readdir(this.#dir)).filter((f) => /^scheduled-.*\.sqlite$/.test(f)).sort();
    for (const old of files.slice(0, Math.max(0, files.length - this.#keep))) await rm(join(this.#dir, old), { force: true });
  }

  async close(): Promise<void> {
    clearInterval(this.#timer);
    await this.#running;
  }
}

function stamp(): string {
  return new Date().toISOString().replace(/[:.]/g, '-');
}
