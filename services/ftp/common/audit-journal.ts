import { closeSync, ftruncateSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { z } from 'zod';
import { auditEvent, type AuditEvent } from '../../../lib/contracts/internal-db/shapes.js';
import type { Logger } from '../../../lib/log/logger.js';

/** A transfer's outcome waiting to be recorded: its event id (a process's prefix and a counter) and when it ended. */
export interface PendingOutcome {
  prefix: string;
  id: string;
  atMs: number;
  /** The audit event (the internal-db's contract) before it gets its id and time. */
  outcome: Omit<AuditEvent, 'eventId' | 'at'>;
}

const line = z.strictObject({
  prefix: z.string().regex(/^[A-Za-z0-9_-]{8,100}$/),
  id: z.string().regex(/^[0-9a-z]{1,20}$/),
  atMs: z.int().min(0).max(8.64e15),
  outcome: auditEvent.omit({ eventId: true, at: true }),
});

/** Once the journal holds this many bytes beyond what is pending, it is rewritten with the pending only. */
const REWRITE_SLACK_BYTES = 8 * 1024 * 1024;

/**
 * The file host's audit journal: every transfer outcome is written here (one JSON line, with a
 * plain write: a killed process leaves it in the page cache, on its way to disk) before it waits in
 * the reporter's queue, and the file is emptied whenever the queue is. A file host that was killed
 * with outcomes unsent finds them here at its next start and sends them then; their event ids make
 * a resend that had in fact landed harmless.
 *
 * Invariant: every outcome in the reporter's queue is in the journal (sent ones may linger until
 * the next emptying or rewrite).
 */
export class AuditJournal {
  readonly #path: string;
  readonly #log: Logger;
  #fd: number;
  /** Bytes in the file, and how many of them were written since the file last held only what is pending. */
  #bytes = 0;
  #sinceRewrite = 0;

  private constructor(path: string, fd: number, bytes: number, log: Logger) {
    this.#path = path;
    this.#fd = fd;
    this.#bytes = bytes;
    this.#log = log;
  }

  /** Opens (or creates, mode 0600) the journal at `path`, and reads what a previous run left unsent. */
  static async open(path: string, log: Logger): Promise<{ journal: AuditJournal; left: PendingOutcome[] }> {
    await mkdir(dirname(path), { recursive: true, mode: 0o700 });
    let text = '';
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    }
    const left: PendingOutcome[] = [];
    let torn = 0;
    for (const row of text.split('\n')) {
      if (row === '') continue;
      let parsed;
      try {
        parsed = line.safeParse(JSON.parse(row));
      } catch {
        parsed = undefined;
      }
      if (parsed?.success) left.push(parsed.data);
      else torn++; // a line cut by a crash mid-write, or not ours: skipped, said once
    }
    if (torn > 0) log.warn('audit journal: unreadable lines skipped', { path, lines: torn });
    const fd = openSync(path, 'a', 0o600);
    return { journal: new AuditJournal(path, fd, Buffer.byteLength(text), log), left };
  }

  /** Writes one outcome (before it is queued). */
  append(pending: PendingOutcome): void {
    const text = `${JSON.stringify(pending)}\n`;
    writeSync(this.#fd, text);
    const size = Buffer.byteLength(text);
    this.#bytes += size;
    this.#sinceRewrite += size;
  }

  /**
   * The queue changed (a batch landed, or the oldest were dropped): with nothing pending the file
   * is emptied; when it has grown well past what is pending, it is rewritten with the pending only.
   */
  settled(pending: readonly PendingOutcome[]): void {
    if (pending.length === 0) {
      ftruncateSync(this.#fd, 0);
      this.#bytes = 0;
      this.#sinceRewrite = 0;
      return;
    }
    if (this.#sinceRewrite < REWRITE_SLACK_BYTES) return;
    const text = pending.map((p) => `${JSON.stringify(p)}\n`).join('');
    const tmp = `${this.#path}.tmp`;
    const fd = openSync(tmp, 'w', 0o600);
    try {
      writeSync(fd, text);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, this.#path);
    closeSync(this.#fd);
    this.#fd = openSync(this.#path, 'a', 0o600);
    this.#bytes = Buffer.byteLength(text);
    this.#sinceRewrite = 0;
    this.#log.debug('audit journal rewritten', { path: this.#path, pending: pending.length, bytes: this.#bytes });
  }

  close(): void {
    closeSync(this.#fd);
  }
}
