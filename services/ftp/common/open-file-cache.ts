import { closeSync, type Stats } from 'node:fs';
import type { AreaRoot } from './path-resolver.js';

/**
 * Open files, shared by the requests that want the same file within a short time (like nginx's
 * open_file_cache): resolving a path, opening and stat-ing it is done once per `ttlMs`, not once
 * per request. Reads are positional (pread), so one descriptor serves many requests at once.
 *
 * An entry lives `ttlMs` after it was opened, then the next request opens the file afresh; a
 * descriptor is closed when its entry has expired (or was dropped) and no request still holds it.
 * `invalidate(customer)` drops a customer's entries at once: staging, unstaging and pruning call
 * it, so a pruned file is not served from the cache.
 */
export interface CachedFile {
  readonly fd: number;
  readonly stats: Stats;
  readonly realPath: string;
  /** Response headers computed once per entry (by the HTTP edge). */
  headers?: Record<string, string | number>;
  /** The same with the whole file's Content-Length: a plain 200 sends these as they are. */
  fullHeaders?: Record<string, string | number>;
}

interface Entry {
  file: CachedFile;
  expiresAt: number;
  holders: number;
  dropped: boolean;
}

export class OpenFileCache {
  readonly #entries = new Map<string, Entry>();
  readonly #ttlMs: number;
  readonly #maxEntries: number;

  constructor(options: { ttlMs: number; maxEntries?: number }) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 1000;
  }

  /**
   * The open file for `customer`'s `virtualPath`, opened through `root` when not cached; the caller
   * must `release()` it once done reading.
   */
  acquire(customer: string, virtualPath: string, root: () => AreaRoot, now = Date.now()): { file: CachedFile; release: () => void } {
    const key = `${customer}\u0000${virtualPath}`;
    let entry = this.#entries.get(key);
    if (entry && entry.expiresAt <= now) {
      this.#drop(key, entry);
      entry = undefined;
    }
    if (!entry) {
      const opened = root().openFile(virtualPath);
      entry = { file: { fd: opened.fd, stats: opened.stats, realPath: opened.realPath }, expiresAt: now + this.#ttlMs, holders: 0, dropped: false };
      if (this.#ttlMs > 0) {
        if (this.#entries.size >= this.#maxEntries) this.#evictOne();
        this.#entries.set(key, entry);
      } else {
        entry.dropped = true; // not cached: closed on release
      }
    }
    const held = entry;
    held.holders++;
    let released = false;
    return {
      file: held.file,
      release: () => {
        if (released) return;
        released = true;
        held.holders--;
        if (held.dropped && held.holders === 0) closeQuietly(held.file.fd);
      },
    };
  }

  /** Drops every entry of a customer (its area changed). */
  invalidate(customer: string): void {
    const prefix = `${customer}\u0000`;
    for (const [key, entry] of this.#entries) if (key.startsWith(prefix)) this.#drop(key, entry);
  }

  /** Drops everything (at close). */
  clear(): void {
    for (const [key, entry] of this.#entries) this.#drop(key, entry);
  }

  #evictOne(): void {
    const now = Date.now();
    for (const [key, entry] of this.#entries) {
      if (entry.expiresAt <= now) this.#drop(key, entry);
    }
    if (this.#entries.size >= this.#maxEntries) {
      const [key, entry] = this.#entries.entries().next().value as [string, Entry];
      this.#drop(key, entry);
    }
  }

  #drop(key: string, entry: Entry): void {
    this.#entries.delete(key);
    if (entry.dropped) return;
    entry.dropped = true;
    if (entry.holders === 0) closeQuietly(entry.file.fd);
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
