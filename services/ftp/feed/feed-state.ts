import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../../lib/log/logger.js';
import { emptyCutoffs, type CutoffSnapshot } from '../common/ticket-cutoffs.js';

/** What survives a restart of the file host: where it is in the change feed, and the ticket cut-offs. */
export interface FeedState {
  /** The last change applied (0: none yet). */
  seq: number;
  cutoffs: CutoffSnapshot;
}

/**
 * The file host's feed state file (services.ftp.stateDir/<name>.json): read at start, written
 * after each batch of changes is applied, atomically (a temporary file renamed over it, mode 0600),
 * so a crash leaves the old state or the new one. A missing file is a file host that never followed
 * the feed; an unreadable one is logged and treated as missing.
 */
export class FeedStateFile {
  /** Undefined: the state is kept in memory only (nothing is read or written). */
  readonly path: string | undefined;
  readonly #log: Logger;
  #writing: Promise<void> = Promise.resolve();

  constructor(path: string | undefined, log: Logger) {
    this.path = path;
    this.#log = log;
  }

  async read(): Promise<FeedState | undefined> {
    if (this.path === undefined) return undefined;
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw err;
    }
    try {
      const parsed = JSON.parse(text) as Partial<FeedState>;
      if (typeof parsed.seq !== 'number' || !Number.isSafeInteger(parsed.seq) || parsed.seq < 0) throw new Error('no valid seq');
      return { seq: parsed.seq, cutoffs: { ...emptyCutoffs(), ...parsed.cutoffs } };
    } catch (err) {
      this.#log.warn('feed state file unreadable: following the feed from its head', { path: this.path, err });
      return undefined;
    }
  }

  /** Writes the state (writes are queued: the last one wins on disk). */
  write(state: FeedState): Promise<void> {
    const path = this.path;
    if (path === undefined) return this.#writing;
    const text = `${JSON.stringify(state)}\n`;
    this.#writing = this.#writing.then(async () => {
      const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
      try {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await writeFile(tmp, text, { mode: 0o600 });
        await rename(tmp, path);
      } catch (err) {
        await unlink(tmp).catch(() => {});
        this.#log.error('feed state not written', { path, err });
      }
    });
    return this.#writing;
  }
}
