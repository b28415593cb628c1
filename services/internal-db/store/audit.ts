import type { Db } from '../db/open.js';

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
  limit: number;
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

  query(q: AuditQuery): RecordedEvent[] {
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
    // Only fixed clauses are joined here; every value is a bound parameter.
    const sql = `SELECT e.event_id AS eventId, c.login AS customer, e.artifact_id AS artifactId, e.path, e.protocol, e.client_address AS clientAddress,
      e.bytes, e.duration_ms AS durationMs, e.outcome, e.at FROM download_events e JOIN customers c ON c.id = e.customer_id
      ${where.length ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY e.at DESC, e.id DESC LIMIT ?`;
    return this.#db.prepare<unknown[], RecordedEvent>(sql).all(...params, q.limit);
  }
}
