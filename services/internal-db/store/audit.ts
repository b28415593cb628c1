import type { Db } from '../db/open.js';
import type { ChangeLog, ChangeSubject } from './changes.js';
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

/** A path in a customer's area that names an artifact: `/<product>/<version>/<filename>`. */
const ARTIFACT_PATH = /^\/([^/]+)\/([^/]+)\/([^/]+)$/;

/**
 * The download audit: every transfer's outcome, recorded in batches. An event recorded without an
 * artifact id (FTP and SFTP know only the path; so do events an older file host journaled) gets the
 * id of the artifact its path names, `/<product>/<version>/<filename>`, when there is one: the same
 * id an HTTP download of that file carries from its ticket.
 *
 * A new complete transfer of a known artifact is also a change (download.completed, by the
 * system), recorded in the batch's transaction: a retried batch adds neither event nor change.
 */
export class Audit {
  readonly #db: Db;
  readonly #changes: ChangeLog;
  readonly #insert;
  readonly #artifactAt;
  readonly #artifactSubject;
  readonly #login;

  constructor(db: Db, changes: ChangeLog) {
    this.#db = db;
    this.#changes = changes;
    this.#artifactSubject = db.prepare<[number], { vendor: string; product: string; version: string; filename: string }>(
      `SELECT v.name AS vendor, p.code AS product, r.version, a.filename FROM artifacts a JOIN releases r ON r.id = a.release_id
       JOIN products p ON p.id = r.product_id JOIN vendors v ON v.id = p.vendor_id WHERE a.id = ?`,
    );
    this.#login = db.prepare<[number], string>('SELECT login FROM customers WHERE id = ?').pluck();
    // Each of products.code, (releases.product_id, version) and (artifacts.release_id, filename) is unique: one index probe each.
    this.#artifactAt = db
      .prepare<[string, string, string], number>(
        `SELECT a.id FROM artifacts a JOIN releases r ON r.id = a.release_id JOIN products p ON p.id = r.product_id
         WHERE p.code = ? AND r.version = ? AND a.filename = ?`,
      )
      .pluck();
    this.#insert = db.prepare(
      `INSERT OR IGNORE INTO download_events (event_id, customer_id, artifact_id, path, protocol, client_address, bytes, duration_ms, outcome, at)
       VALUES (@eventId, @customerId, @artifactId, @path, @protocol, @clientAddress, @bytes, @durationMs, @outcome, @at)`,
    );
  }

  /**
   * Records a batch in one transaction; returns how many were new (retries are ignored). An event
   * without an artifact id gets the one its path names (looked up once per distinct path in the batch).
   */
  record(events: readonly DownloadEvent[]): number {
    return this.#db.transaction((batch: readonly DownloadEvent[]) => {
      const artifacts = new Map<string, number | null>();
      const subjects = new Map<number, ChangeSubject | null>();
      const logins = new Map<number, string>();
      let added = 0;
      for (const event of batch) {
        let row = event;
        if (event.artifactId === null) {
          let artifactId = artifacts.get(event.path);
          if (artifactId === undefined) artifacts.set(event.path, (artifactId = this.#artifactOf(event.path)));
          if (artifactId !== null) row = { ...event, artifactId };
        }
        const inserted = this.#insert.run(row).changes;
        added += inserted;
        if (inserted === 0 || row.outcome !== 'complete' || row.artifactId === null) continue;
        let subject = subjects.get(row.artifactId);
        if (subject === undefined) subjects.set(row.artifactId, (subject = this.#artifactSubject.get(row.artifactId) ?? null));
        if (subject === null) continue;
        let customer = logins.get(row.customerId);
        if (customer === undefined) logins.set(row.customerId, (customer = this.#login.get(row.customerId) as string));
        this.#changes.record('download.completed', { ...subject, customer, protocol: row.protocol, bytes: row.bytes }, undefined);
      }
      return added;
    })(events);
  }

  /** The id of the artifact a path in an area names (`/<product>/<version>/<filename>`), or null. */
  #artifactOf(path: string): number | null {
    const match = ARTIFACT_PATH.exec(path);
    if (!match) return null;
    return this.#artifactAt.get(match[1]!, match[2]!, match[3]!) ?? null;
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
