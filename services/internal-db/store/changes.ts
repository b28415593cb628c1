import type { Change, ChangeActor, ChangeKind } from '../../../lib/contracts/internal-db/changes.js';
import type { Db } from '../db/open.js';
import { iso, type Clock } from './clock.js';
import { after, pageOf, type Page, type PageQuery } from './page.js';

/** What a change names besides its kind (the subject fields of lib/contracts/internal-db/changes.ts). */
export interface ChangeSubject {
  customer?: string | undefined;
  vendor?: string | undefined;
  product?: string | undefined;
  version?: string | undefined;
  filename?: string | undefined;
  entitlementId?: number | undefined;
  tokenId?: number | undefined;
  eulaId?: number | undefined;
  fingerprint?: string | undefined;
  protocol?: 'http' | 'ftp' | 'sftp' | undefined;
  bytes?: number | undefined;
}

interface ChangeRow {
  seq: number;
  kind: ChangeKind;
  at: string;
  customer: string | null;
  vendor: string | null;
  product: string | null;
  version: string | null;
  filename: string | null;
  entitlement_id: number | null;
  token_id: number | null;
  eula_id: number | null;
  fingerprint: string | null;
  protocol: 'http' | 'ftp' | 'sftp' | null;
  bytes: number | null;
  actor_kind: ChangeActor['kind'];
  actor_id: string | null;
  actor_address: string | null;
}

/** A batch of the log for a subscriber (changes.next). */
export interface ChangeBatch {
  changes: Change[];
  head: number;
  reset: boolean;
}

export interface ChangeFilter {
  vendor?: string | undefined;
  customer?: string | undefined;
  kind?: ChangeKind | undefined;
}

const SYSTEM: ChangeActor = { kind: 'system' };

/**
 * The change log: one row per change, written by `record` inside the transaction of the change
 * (so a change and its row land together or not at all). Sequence numbers come from SQLite's
 * AUTOINCREMENT: strictly increasing, never reused, even after old rows are pruned; SQLite has
 * one writer, so sequence order is commit order.
 *
 * Subscribers wait with `wait`: they are woken just after a change of this process commits, and
 * by a poll of the head every `pollMs` for changes another process wrote to the same file (the
 * admin CLI).
 */
export class ChangeLog {
  readonly #now: Clock;
  readonly #q;
  readonly #waiters = new Set<() => void>();
  #wakeScheduled = false;
  #poll: NodeJS.Timeout | undefined;
  #polledHead = 0;
  #closed = false;
  readonly #pollMs: number;

  constructor(db: Db, now: Clock, pollMs = 100) {
    this.#now = now;
    this.#pollMs = pollMs;
    this.#q = {
      insert: db.prepare(
        `INSERT INTO changes (kind, at, customer, vendor, product, version, filename, entitlement_id, token_id, eula_id, fingerprint,
         protocol, bytes, actor_kind, actor_id, actor_address) VALUES (@kind, @at, @customer, @vendor, @product, @version, @filename, @entitlementId,
         @tokenId, @eulaId, @fingerprint, @protocol, @bytes, @actorKind, @actorId, @actorAddress)`,
      ),
      head: db.prepare<[], { seq: number }>("SELECT seq FROM sqlite_sequence WHERE name = 'changes'"),
      oldest: db.prepare<[], { seq: number | null }>('SELECT min(seq) AS seq FROM changes'),
      after: db.prepare<[number, number], ChangeRow>('SELECT * FROM changes WHERE seq > ? ORDER BY seq LIMIT ?'),
      list: db.prepare<[{ before: number; vendor: string | null; customer: string | null; kind: string | null; limit: number }], ChangeRow>(
        `SELECT * FROM changes WHERE seq < @before AND (@vendor IS NULL OR vendor = @vendor) AND (@customer IS NULL OR customer = @customer)
         AND (@kind IS NULL OR kind = @kind) ORDER BY seq DESC LIMIT @limit`,
      ),
      prune: db.prepare('DELETE FROM changes WHERE at < ? AND seq < ?'),
    };
  }

  /** Records a change (call inside the transaction of the change); returns its sequence. */
  record(kind: ChangeKind, subject: ChangeSubject, by: ChangeActor | undefined): number {
    const actor = by ?? SYSTEM;
    const result = this.#q.insert.run({
      kind,
      at: iso(this.#now()),
      customer: subject.customer ?? null,
      vendor: subject.vendor ?? null,
      product: subject.product ?? null,
      version: subject.version ?? null,
      filename: subject.filename ?? null,
      entitlementId: subject.entitlementId ?? null,
      tokenId: subject.tokenId ?? null,
      eulaId: subject.eulaId ?? null,
      fingerprint: subject.fingerprint ?? null,
      protocol: subject.protocol ?? null,
      bytes: subject.bytes ?? null,
      actorKind: actor.kind,
      actorId: actor.id ?? null,
      actorAddress: actor.address ?? null,
    });
    this.#scheduleWake();
    return Number(result.lastInsertRowid);
  }

  /** The newest sequence ever recorded (0: none). */
  head(): number {
    return this.#q.head.get()?.seq ?? 0;
  }

  /**
   * The changes after `afterSeq`, oldest first. `reset` when some of them are no longer kept
   * (pruned) or `afterSeq` is beyond the head (a database restored from an older backup): the
   * subscriber must drop what it cached and go on from `head`.
   */
  next(afterSeq: number, limit: number): ChangeBatch {
    const head = this.head();
    const oldest = this.#q.oldest.get()?.seq ?? head + 1;
    if (afterSeq > head || afterSeq < oldest - 1) return { changes: [], head, reset: afterSeq !== 0 || oldest > 1 };
    return { changes: this.#q.after.all(afterSeq, limit).map(toChange), head, reset: false };
  }

  /** Resolves once a change after `afterSeq` is recorded, or after `waitMs`. */
  async wait(afterSeq: number, waitMs: number): Promise<void> {
    if (waitMs <= 0 || this.#closed || this.head() > afterSeq) return;
    await new Promise<void>((resolve) => {
      let timer: NodeJS.Timeout | undefined = undefined;
      const done = () => {
        clearTimeout(timer);
        this.#waiters.delete(done);
        if (this.#waiters.size === 0) this.#stopPolling();
        resolve();
      };
      timer = setTimeout(done, waitMs);
      this.#waiters.add(done);
      this.#startPolling();
    });
  }

  /** The log newest first (admin audit), a page at a time, optionally filtered. */
  list(page: PageQuery, filter: ChangeFilter): Page<Change> {
    const [before] = after(page, ['number']) ?? [Number.MAX_SAFE_INTEGER];
    const rows = this.#q.list.all({
      before,
      vendor: filter.vendor ?? null,
      customer: filter.customer ?? null,
      kind: filter.kind ?? null,
      limit: page.limit + 1,
    });
    return pageOf(rows.map(toChange), page.limit, (c) => [c.seq]);
  }

  /** Deletes changes older than `keepMs`, always keeping the newest one (so the head stays known). Returns how many went. */
  prune(keepMs: number): number {
    return this.#q.prune.run(iso(this.#now() - keepMs), this.head()).changes;
  }

  /** Wakes every waiter (and stops polling). */
  close(): void {
    this.#closed = true;
    for (const done of [...this.#waiters]) done();
  }

  #scheduleWake(): void {
    if (this.#wakeScheduled) return;
    this.#wakeScheduled = true;
    // After the current synchronous transaction has committed: a waiter must read the change.
    setImmediate(() => {
      this.#wakeScheduled = false;
      for (const done of [...this.#waiters]) done();
    });
  }

  #startPolling(): void {
    if (this.#poll) return;
    this.#polledHead = this.head();
    this.#poll = setInterval(() => {
      const head = this.head();
      if (head !== this.#polledHead) {
        this.#polledHead = head;
        for (const done of [...this.#waiters]) done();
      }
    }, this.#pollMs);
    this.#poll.unref();
  }

  #stopPolling(): void {
    clearInterval(this.#poll);
    this.#poll = undefined;
  }
}

function toChange(row: ChangeRow): Change {
  const c: Change = { seq: row.seq, kind: row.kind, at: row.at, actor: { kind: row.actor_kind } };
  if (row.customer !== null) c.customer = row.customer;
  if (row.vendor !== null) c.vendor = row.vendor;
  if (row.product !== null) c.product = row.product;
  if (row.version !== null) c.version = row.version;
  if (row.filename !== null) c.filename = row.filename;
  if (row.entitlement_id !== null) c.entitlementId = row.entitlement_id;
  if (row.token_id !== null) c.tokenId = row.token_id;
  if (row.eula_id !== null) c.eulaId = row.eula_id;
  if (row.fingerprint !== null) c.fingerprint = row.fingerprint;
  if (row.protocol !== null) c.protocol = row.protocol;
  if (row.bytes !== null) c.bytes = row.bytes;
  if (row.actor_id !== null) c.actor.id = row.actor_id;
  if (row.actor_address !== null) c.actor.address = row.actor_address;
  return c;
}
