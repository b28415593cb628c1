import { randomBytes } from 'node:crypto';
import { auditRecordCompact, type AuditEvent, type CompactGroup } from '../../../lib/contracts/internal-db/index.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { AuditJournal, PendingOutcome } from './audit-journal.js';
import type { WebLink } from './web-link.js';

/** One transfer's outcome: an audit event (the internal-db's contract) before it gets its id and time. */
export type TransferOutcome = Omit<AuditEvent, 'eventId' | 'at'>;

export interface AuditReporterOptions {
  link: Pick<WebLink, 'ask'>;
  batchSize: number;
  flushMs: number;
  /** Outcomes held while the internal-db cannot be reached; beyond this the oldest are dropped (logged). */
  maxQueued?: number;
  /** Where each outcome is written before it is queued, so that a killed file host sends it at its next start. */
  journal?: AuditJournal | undefined;
  /** Outcomes a previous run left in the journal unsent: queued first. */
  left?: readonly PendingOutcome[];
  log: Logger;
}

type Queued = PendingOutcome;

/** Codes after which resending the same batch cannot succeed. */
const PERMANENT: ReadonlySet<string | undefined> = new Set([FileHostErrors.INVALID_INPUT.code, FileHostErrors.NOT_FOUND.code]);

/**
 * Batches transfer outcomes and sends them over the commlink (`audit.recordCompact`, forwarded by the web
 * host to the internal-db). A batch goes when it is full or `flushMs` after its first event. A
 * failed send is retried with the next flush; event ids make a resend harmless. `close()` sends what
 * is left.
 *
 * Invariant: at most one send is in flight, so batches land in order.
 */
export class AuditReporter {
  readonly #options: Required<Omit<AuditReporterOptions, 'journal' | 'left'>>;
  readonly #journal: AuditJournal | undefined;
  #queue: Queued[] = [];
  /** Event ids are this process's random prefix and a counter: unique, and cheap per transfer. */
  readonly #idPrefix = randomBytes(12).toString('base64url');
  #nextId = 0;
  #timer: NodeJS.Timeout | undefined;
  #sending: Promise<void> | undefined;
  #dropped = 0;
  #closed = false;

  constructor(options: AuditReporterOptions) {
    const { journal, left = [], ...rest } = options;
    this.#options = { maxQueued: 250_000, ...rest };
    this.#journal = journal;
    if (left.length > 0) {
      this.#queue.push(...left);
      options.log.info('audit outcomes of an earlier run found in the journal; sending them', { events: left.length });
      this.#timer = setTimeout(() => void this.flush(), this.#options.flushMs);
    }
  }

  /** Outcomes waiting to be sent. */
  get pending(): number {
    return this.#queue.length;
  }

  report(outcome: TransferOutcome): void {
    const pending: Queued = { prefix: this.#idPrefix, id: (this.#nextId++).toString(36), atMs: Date.now(), outcome };
    try {
      this.#journal?.append(pending);
    } catch (err) {
      if (this.#dropped++ % 1000 === 0) this.#options.log.error('audit journal not written (a full disk?): the outcome is only in memory', { err });
    }
    this.#queue.push(pending);
    if (this.#queue.length > this.#options.maxQueued) {
      this.#queue.shift();
      if (this.#dropped++ % 1000 === 0) this.#options.log.error('audit queue full: oldest transfer outcomes dropped', { dropped: this.#dropped });
      this.#settle();
    }
    if (this.#closed) return;
    if (this.#queue.length >= this.#options.batchSize) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushMs);
  }

  /** Sends everything queued now (one batch after another); resolves when done or failed. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#sending ??= this.#drain().finally(() => {
      this.#sending = undefined;
      if (this.#queue.length > 0 && !this.#closed) this.#timer ??= setTimeout(() => void this.flush(), this.#options.flushMs);
    });
    return this.#sending;
  }

  async #drain(): Promise<void> {
    while (this.#queue.length > 0) {
      const batch = this.#queue.slice(0, this.#options.batchSize);
      try {
        await this.#options.link.ask(auditRecordCompact, { groups: this.#compact(batch) }, 30_000);
      } catch (err) {
        const code = codeOf(err);
        if (!PERMANENT.has(code)) {
          this.#options.log.warn('audit batch not delivered; will retry', { events: batch.length, code });
          return;
        }
        this.#options.log.error('audit batch refused by the internal-db; dropped', {
          err,
          events: batch.map((q) => ({ ...q.outcome, eventId: `${q.prefix}:${q.id}` })),
        });
      }
      this.#queue.splice(0, batch.length);
      this.#settle();
    }
  }

  /** Tells the journal what is still pending (it empties or compacts itself). */
  #settle(): void {
    try {
      this.#journal?.settled(this.#queue);
    } catch (err) {
      this.#options.log.error('audit journal not compacted', { err });
    }
  }

  /**
   * The batch as `audit.recordCompact` takes it: transfers of the same customer, artifact, path,
   * protocol and address share one group, each a line `<id> <bytes> <ms> <c|a> <epoch ms>`.
   */
  #compact(batch: readonly Queued[]): CompactGroup[] {
    const groups = new Map<string, CompactGroup>();
    for (const { outcome: o, id, atMs, prefix } of batch) {
      const key = `${prefix}\u0000${o.customer}\u0000${o.artifactId ?? ''}\u0000${o.path}\u0000${o.protocol}\u0000${o.clientAddress}`;
      const line = `${id} ${o.bytes} ${o.durationMs} ${o.outcome === 'complete' ? 'c' : 'a'} ${atMs}`;
      const group = groups.get(key);
      if (group) group.events += `\n${line}`;
      else
        groups.set(key, {
          customer: o.customer,
          artifactId: o.artifactId ?? null,
          path: o.path,
          protocol: o.protocol,
          clientAddress: o.clientAddress,
          idPrefix: prefix,
          events: line,
        });
    }
    return [...groups.values()];
  }

  /** Sends what is queued (waiting up to `timeoutMs`); what cannot be sent is logged. */
  async close(timeoutMs = 5000): Promise<void> {
    this.#closed = true; // from now on nothing re-arms the timer
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const deadline = Date.now() + timeoutMs;
    while (this.#queue.length > 0 && Date.now() < deadline) {
      await Promise.race([this.flush(), new Promise((r) => setTimeout(r, Math.max(0, deadline - Date.now())))]);
      if (this.#queue.length > 0) await new Promise((r) => setTimeout(r, 100));
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#queue.length > 0 && this.#journal)
      this.#options.log.warn('audit outcomes not delivered at close: kept in the journal for the next start', { events: this.#queue.length });
    else if (this.#queue.length > 0)
      this.#options.log.error('audit outcomes not delivered at close', {
        events: this.#queue.map((q) => ({ ...q.outcome, eventId: `${q.prefix}:${q.id}` })),
      });
    this.#journal?.close();
  }
}
