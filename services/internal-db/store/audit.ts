import type { Db } from '../db/open.js';
import { after, pageOf, type Page, type PageQuery } from './page.js';

/** A recorded event as audit.query answers it (the customer by login). */
export type RecordedEvent = Omit<DownloadEvent, 'customerId'> & { customer: string };

export interface DownloadEvent {
  /** Unique per event, chosen by the reporting file host: a retried batch is not counted twice. */
  eventId: string;
  customerId: number;
  artifactId: number | null;
  path: string;
  protocol: 'http' | 'ftp' | 'sftp';
  clientAddress: string;
  bytes: number;
  durationMs: number;
  outcome: 'complete' | 'aborted';
  at: string;
}

export interface AuditQuery {
  customerId?: number | undefined;
  protocol?: string | undefined;
  outcome?: string | undefined;
  since?: string | undefined;
  until?: string | undefined;
}

/** The download audit: every transfer's outcome, recorded in batches. */
export class Audit {
  readonly #db: Db;
  readonly #insert;

  constructor(db: Db) {
    this.#db = db;
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO download_events (event_id, customer_id, artifact_id, path, protocol, client_address, bytes, duration_ms, outcome, at)
       VALUES (@eventId, @customerId, @artifactId, @path, @protocol, @clientAddress, @bytes, @durationMs, @outcome, @at)`,
    );
  }

  /** Records a batch in one transaction; returns how many were new (retries are ignored). */
  record(events: readonly DownloadEvent[]): number {
    return this.#db.transaction((batch: readonly DownloadEvent[]) => {
      let added = 0;
      for (const event of batch) added += this.#insert.run(event).changes;
      return added;
    })(events);
  }

  /** Events newest first, filtered, a page at a time (the cursor holds the last event's time and row id). */
  query(q: AuditQuery, page: PageQuery): Page<RecordedEvent> {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const filter = (clause: string, value: string | number | undefined) => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    filter('e.customer_id = ?', q.customerId);
    filter('e.protocol = ?', q.protocol);
    filter('e.outcome = ?', q.outcome);
    filter('e.at >= ?', q.since);
    filter('e.at < ?', q.until);
    const last = after(page, ['string', 'number']);
    if (last) {
      where.push('(e.at < ? OR (e.at = ? AND e.id < ?))');
      params.push(last[0], last[0], last[1]);
    }
    // Only fixed clauses are joined here; every value is a bound parameter.
    const sql = `SELECT e.id, e.event_id AS eventId, c.login AS customer, e.artifact_id AS artifactId, e.path, e.protocol, e.client_address AS clientAddress,
      e.bytes, e.duration_ms AS durationMs, e.outcome, e.at FROM download_events e JOIN customers c ON c.id = e.customer_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.at DESC, e.id DESC LIMIT ?`;
    const rows = this.#db.prepare<unknown[], RecordedEvent & { id: number }>(sql).all(...params, page.limit + 1);
    const { items, next } = pageOf(rows, page.limit, (e) => [e.at, e.id]);
    return { items: items.map(({ id: _id, ...event }) => event), next };
  }
}
