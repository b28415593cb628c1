import { closeSync, type Stats } from 'node:fs';
import { LRUCache } from 'lru-cache';
import type { AreaRoot } from './path-resolver.js';

/**
 * Open files, shared by the requests that want the same file within a short time (like nginx's
 * open_file_cache): resolving a path, opening and stat-ing it is done once per `ttlMs`, not once
 * per request. Reads are positional (pread), so one descriptor serves many requests at once.
 *
 * An entry lives `ttlMs` after it was opened (then the next request opens the file afresh), and at
 * most `maxEntries` entries are kept (the least recently used goes first). Invariant: a descriptor
 * is closed exactly once, when its entry has left the cache (expired, evicted, invalidated or
 * cleared) and no request still holds it; never while a request holds it.
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

/** The default of `maxEntries`: open descriptors kept at most (besides those still being read). */
const MAX_OPEN_FILES = 1000;

interface Entry {
  file: CachedFile;
  /** Requests reading the file now. */
  holders: number;
  /** Out of the cache: the last holder to release closes the descriptor. */
  dropped: boolean;
}

export class OpenFileCache {
  /**
   * By `customer\0virtualPath`; none when `ttlMs` is 0 (each request opens, its release closes).
   * Expired entries are purged on their own (ttlAutopurge: a timer per opened file), so an idle
   * descriptor is closed soon after its time, not when the cache next fills.
   */
  readonly #entries: LRUCache<string, Entry> | undefined;

  constructor(options: { ttlMs: number; maxEntries?: number }) {
    this.#entries =
      options.ttlMs > 0
        ? new LRUCache<string, Entry>({ max: options.maxEntries ?? MAX_OPEN_FILES, ttl: options.ttlMs, ttlAutopurge: true, dispose: drop })
        : undefined;
  }

  /**
   * The open file for `customer`'s `virtualPath`, opened through `root` when not cached; the caller
   * must `release()` it once done reading.
   */
  acquire(customer: string, virtualPath: string, root: () => AreaRoot): { file: CachedFile; release: () => void } {
    const key = `${customer}\u0000${virtualPath}`;
    let entry = this.#entries?.get(key); // an expired entry is disposed of here and not returned
    if (!entry) {
      const opened = root().openFile(virtualPath);
      entry = { file: { fd: opened.fd, stats: opened.stats, realPath: opened.realPath }, holders: 0, dropped: false };
      if (this.#entries)
        this.#entries.set(key, entry); // may evict the least recently used (disposed of)
      else entry.dropped = true; // not cached: closed on release
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
    if (!this.#entries) return;
    const prefix = `${customer}\u0000`;
    const doomed: string[] = [];
    for (const key of this.#entries.keys()) if (key.startsWith(prefix)) doomed.push(key);
    for (const key of doomed) this.#entries.delete(key); // collected first: the cache is not changed while it is walked
  }

  /** Drops everything (at close). */
  clear(): void {
    this.#entries?.clear();
  }
}

/** An entry leaves the cache: its descriptor is closed now, or by the release of its last holder. */
function drop(entry: Entry): void {
  if (entry.dropped) return;
  entry.dropped = true;
  if (entry.holders === 0) closeQuietly(entry.file.fd);
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}
