import { randomBytes } from 'node:crypto';
import type { Change, ChangeActor } from '../../../lib/contracts/internal-db/changes.js';
import { InternalDbErrors } from '../../../lib/contracts/internal-db/errors.js';
import { MAX_WEBHOOKS_PER_OWNER, type LeasedWebhook, type WebhookEndpoint, type WebhookEvent } from '../../../lib/contracts/internal-db/webhooks.js';
import type { Db } from '../db/open.js';
import type { ChangeLog } from './changes.js';
import { iso, type Clock } from './clock.js';
import { after, pageOf, type Page, type PageQuery } from './page.js';

type OwnerKind = WebhookEndpoint['ownerKind'];

interface WebhookRow {
  id: number;
  owner_kind: OwnerKind;
  owner: string | null;
  url: string;
  events: string;
  secret: string;
  enabled: 0 | 1;
  disabled_reason: string | null;
  disabled_at: string | null;
  failing_since: string | null;
  cursor: number;
  lease_holder: string | null;
  lease_until: number | null;
  created_at: string;
}

interface DeliveryRow {
  id: number;
  seq: number;
  event: WebhookEvent;
  at: string;
  attempt: number;
  outcome: 'delivered' | 'failed';
  status: number | null;
  error: string | null;
  duration_ms: number;
}

export interface WebhookDeliveryEntry {
  seq: number;
  event: WebhookEvent;
  at: string;
  attempt: number;
  outcome: 'delivered' | 'failed';
  status: number | null;
  error: string | null;
  durationMs: number;
}

export interface NewWebhook {
  ownerKind: OwnerKind;
  owner?: string | undefined;
  url: string;
  events: readonly WebhookEvent[];
}

export interface DeliveryReport {
  holder: string;
  id: number;
  seq: number;
  outcome: 'delivered' | 'failed' | 'skipped';
  event?: WebhookEvent | undefined;
  attempt: number;
  status: number | null;
  error: string | null;
  durationMs: number;
  giveUpMs?: number | undefined;
}

/**
 * Which changes an endpoint receives, beyond its event kinds: an admin's every one; a vendor's
 * those of its products (the change names the vendor, one of its products, or an entitlement to
 * one); a customer's its own entitlements and downloads, and release events of products it holds
 * an unrevoked entitlement to (now, when the event is delivered).
 */
const VISIBLE = `(
  @ownerKind = 'admin'
  OR (@ownerKind = 'vendor' AND (
    c.vendor = @owner
    OR c.product IN (SELECT p.code FROM products p JOIN vendors v ON v.id = p.vendor_id WHERE v.name = @owner)
    OR c.entitlement_id IN (SELECT e.id FROM entitlements e JOIN products p ON p.id = e.product_id JOIN vendors v ON v.id = p.vendor_id WHERE v.name = @owner)))
  OR (@ownerKind = 'customer' AND (
    (c.kind NOT LIKE 'release.%' AND (c.customer = @owner
      OR c.entitlement_id IN (SELECT e.id FROM entitlements e JOIN customers cu ON cu.id = e.customer_id WHERE cu.login = @owner)))
    OR (c.kind LIKE 'release.%' AND c.product IN (SELECT p.code FROM entitlements e JOIN customers cu ON cu.id = e.customer_id
      JOIN products p ON p.id = e.product_id WHERE cu.login = @owner AND e.revoked_at IS NULL))))
)`;

/** An endpoint whose owner (vendor or customer) is disabled gets nothing until it is enabled again (then it resumes after its cursor). */
const OWNER_ENABLED = `NOT EXISTS (SELECT 1 FROM customers cu WHERE webhooks.owner_kind = 'customer' AND cu.login = webhooks.owner AND cu.disabled = 1)
  AND NOT EXISTS (SELECT 1 FROM vendors v WHERE webhooks.owner_kind = 'vendor' AND v.name = webhooks.owner AND v.disabled = 1)`;

/**
 * Webhook endpoints, their leases and their delivery log. An endpoint's cursor is the last change
 * sequence it was given (or passed over); a lease says which web host delivers to it until when
 * (one at a time: a dead holder's lease expires and another takes the endpoint over).
 */
export class Webhooks {
  readonly #db: Db;
  readonly #now: Clock;
  readonly #changes: ChangeLog;
  readonly #q;

  constructor(db: Db, now: Clock, changes: ChangeLog) {
    this.#db = db;
    this.#now = now;
    this.#changes = changes;
    this.#q = {
      insert: db.prepare(
        `INSERT INTO webhooks (owner_kind, owner, url, events, secret, cursor, created_at, created_by)
         VALUES (@ownerKind, @owner, @url, @events, @secret, @cursor, @createdAt, @createdBy)`,
      ),
      get: db.prepare<[number], WebhookRow>('SELECT * FROM webhooks WHERE id = ?'),
      list: db.prepare<[{ after: number; ownerKind: string | null; owner: string | null; limit: number }], WebhookRow>(
        `SELECT * FROM webhooks WHERE id > @after AND (@ownerKind IS NULL OR owner_kind = @ownerKind) AND (@owner IS NULL OR owner = @owner)
         ORDER BY id LIMIT @limit`,
      ),
      remove: db.prepare('DELETE FROM webhooks WHERE id = ?'),
      enable: db.prepare(
        `UPDATE webhooks SET enabled = 1, disabled_reason = NULL, disabled_at = NULL, failing_since = NULL, lease_holder = NULL, lease_until = NULL
         WHERE id = ?`,
      ),
      vendor: db.prepare<[string], { id: number }>('SELECT id FROM vendors WHERE name = ?'),
      customer: db.prepare<[string], { id: number }>('SELECT id FROM customers WHERE login = ?'),
      owned: db.prepare<[string, string], { n: number }>('SELECT count(*) AS n FROM webhooks WHERE owner_kind = ? AND owner = ?'),
      renew: db.prepare(`UPDATE webhooks SET lease_until = ? WHERE lease_holder = ? AND enabled = 1 AND ${OWNER_ENABLED}`),
      drop: db.prepare(`UPDATE webhooks SET lease_holder = NULL, lease_until = NULL WHERE lease_holder = ? AND NOT (enabled = 1 AND ${OWNER_ENABLED})`),
      held: db.prepare<[string], WebhookRow>(`SELECT * FROM webhooks WHERE lease_holder = ? AND enabled = 1 AND ${OWNER_ENABLED} ORDER BY id`),
      grab: db.prepare(
        `UPDATE webhooks SET lease_holder = @holder, lease_until = @until WHERE id IN (SELECT id FROM webhooks WHERE enabled = 1 AND ${OWNER_ENABLED}
         AND (lease_holder IS NULL OR lease_until <= @now) ORDER BY id LIMIT @limit)`,
      ),
      release: db.prepare('UPDATE webhooks SET lease_holder = NULL, lease_until = NULL WHERE lease_holder = ?'),
      pending: db.prepare<[{ after: number; head: number; events: string; ownerKind: string; owner: string | null; limit: number }], { seq: number }>(
        `SELECT c.seq FROM changes c WHERE c.seq > @after AND c.seq <= @head AND c.kind IN (SELECT value FROM json_each(@events))
         AND ${VISIBLE} ORDER BY c.seq LIMIT @limit`,
      ),
      advance: db.prepare('UPDATE webhooks SET cursor = max(cursor, ?) WHERE id = ?'),
      succeeded: db.prepare('UPDATE webhooks SET cursor = max(cursor, ?), failing_since = NULL WHERE id = ?'),
      failing: db.prepare('UPDATE webhooks SET failing_since = coalesce(failing_since, ?) WHERE id = ?'),
      disable: db.prepare('UPDATE webhooks SET enabled = 0, disabled_reason = ?, disabled_at = ?, lease_holder = NULL, lease_until = NULL WHERE id = ?'),
      log: db.prepare(
        `INSERT INTO webhook_deliveries (webhook_id, seq, event, at, attempt, outcome, status, error, duration_ms)
         VALUES (@id, @seq, @event, @at, @attempt, @outcome, @status, @error, @durationMs)`,
      ),
      deliveries: db.prepare<[number, number, number], DeliveryRow>(
        'SELECT * FROM webhook_deliveries WHERE webhook_id = ? AND id < ? ORDER BY id DESC LIMIT ?',
      ),
      prune: db.prepare('DELETE FROM webhook_deliveries WHERE at < ?'),
    };
  }

  /** Registers an endpoint; it receives the changes recorded after now. Returns it with its secret. */
  create(input: NewWebhook, by: ChangeActor | undefined): WebhookEndpoint & { secret: string } {
    return this.#db.transaction(() => {
      const owner = input.ownerKind === 'admin' ? null : (input.owner ?? null);
      if (input.ownerKind === 'admin' && input.owner !== undefined)
        throw InternalDbErrors.INVALID_INPUT("owner: an admin's endpoint has no owner", { field: 'owner' });
      if (owner === null && input.ownerKind !== 'admin') throw InternalDbErrors.INVALID_INPUT(`owner: name the ${input.ownerKind}`, { field: 'owner' });
      if (input.ownerKind === 'vendor' && !this.#q.vendor.get(owner!)) throw InternalDbErrors.NOT_FOUND(`no vendor "${owner}"`, { field: 'owner' });
      if (input.ownerKind === 'customer' && !this.#q.customer.get(owner!)) throw InternalDbErrors.NOT_FOUND(`no customer "${owner}"`, { field: 'owner' });
      if (owner !== null && this.#q.owned.get(input.ownerKind, owner)!.n >= MAX_WEBHOOKS_PER_OWNER)
        throw InternalDbErrors.CONFLICT(`${owner} has ${MAX_WEBHOOKS_PER_OWNER} webhook endpoints already (the most one may have)`, { field: 'url' });
      const secret = `whsec_${randomBytes(32).toString('base64url')}`;
      const result = this.#q.insert.run({
        ownerKind: input.ownerKind,
        owner,
        url: input.url,
        events: JSON.stringify(input.events),
        secret,
        cursor: this.#changes.head(),
        createdAt: iso(this.#now()),
        createdBy: by ? `${by.kind}${by.id === undefined ? '' : `:${by.id}`}` : null,
      });
      return { ...this.get(Number(result.lastInsertRowid)), secret };
    })();
  }

  /** One endpoint (ERR_NOT_FOUND when there is none). */
  get(id: number): WebhookEndpoint {
    return toEndpoint(this.#row(id));
  }

  list(page: PageQuery, filter: { ownerKind?: OwnerKind | undefined; owner?: string | undefined }): Page<WebhookEndpoint> {
    const [afterId] = after(page, ['number']) ?? [0];
    const rows = this.#q.list.all({ after: afterId, ownerKind: filter.ownerKind ?? null, owner: filter.owner ?? null, limit: page.limit + 1 });
    return pageOf(rows.map(toEndpoint), page.limit, (w) => [w.id]);
  }

  remove(id: number): void {
    if (this.#q.remove.run(id).changes === 0) throw InternalDbErrors.NOT_FOUND(`no webhook ${id}`, { field: 'id' });
  }

  /** Enables an endpoint again (its failure clock restarts; deliveries resume after its cursor). */
  enable(id: number): WebhookEndpoint {
    this.#row(id);
    this.#q.enable.run(id);
    return this.get(id);
  }

  /** Renews `holder`'s leases and grants it free or expired ones, up to `limit` in all; the endpoints it holds now. */
  lease(holder: string, ttlMs: number, limit: number): LeasedWebhook[] {
    return this.#db.transaction(() => {
      const now = this.#now();
      this.#q.drop.run(holder);
      this.#q.renew.run(now + ttlMs, holder);
      const held = this.#q.held.all(holder).length;
      if (held < limit) this.#q.grab.run({ holder, until: now + ttlMs, now, limit: limit - held });
      return this.#q.held.all(holder).map((row) => ({
        id: row.id,
        ownerKind: row.owner_kind,
        owner: row.owner,
        url: row.url,
        events: JSON.parse(row.events) as WebhookEvent[],
        secret: row.secret,
        cursor: row.cursor,
        failingSince: row.failing_since,
      }));
    })();
  }

  /** Gives up every lease of `holder`. */
  release(holder: string): number {
    return this.#q.release.run(holder).changes;
  }

  /** The changes after the endpoint's cursor that it is to receive, and the newest sequence looked at. */
  pending(holder: string, id: number, limit: number): { changes: Change[]; scannedTo: number } {
    return this.#db.transaction(() => {
      const row = this.#held(holder, id);
      const head = this.#changes.head();
      const seqs = this.#q.pending.all({ after: row.cursor, head, events: row.events, ownerKind: row.owner_kind, owner: row.owner, limit }).map((r) => r.seq);
      const changes: Change[] = [];
      for (const seq of seqs) {
        const [found] = this.#changes.next(seq - 1, 1).changes;
        if (found?.seq === seq) changes.push(found);
      }
      const scannedTo = seqs.length === limit ? seqs[seqs.length - 1]! : Math.max(head, row.cursor);
      return { changes, scannedTo };
    })();
  }

  /** Records an attempt's outcome (see webhook.report). */
  report(r: DeliveryReport): { cursor: number; enabled: boolean; failingSince: string | null } {
    return this.#db.transaction(() => {
      this.#held(r.holder, r.id);
      const now = this.#now();
      if (r.outcome === 'skipped') this.#q.advance.run(r.seq, r.id);
      else {
        if (r.event === undefined) throw InternalDbErrors.INVALID_INPUT(`event: a ${r.outcome} attempt names its event`, { field: 'event' });
        this.#q.log.run({
          id: r.id,
          seq: r.seq,
          event: r.event,
          at: iso(now),
          attempt: r.attempt,
          outcome: r.outcome,
          status: r.status,
          error: r.error,
          durationMs: r.durationMs,
        });
        if (r.outcome === 'delivered') this.#q.succeeded.run(r.seq, r.id);
        else {
          this.#q.failing.run(iso(now), r.id);
          const since = this.#row(r.id).failing_since;
          if (r.giveUpMs !== undefined && since !== null && now - Date.parse(since) >= r.giveUpMs) {
            const last = r.status !== null ? `HTTP ${r.status}` : (r.error ?? 'no answer');
            this.#q.disable.run(`deliveries failed since ${since} (${r.attempt} attempts for event ${r.seq}); the last: ${last}`, iso(now), r.id);
          }
        }
      }
      const row = this.#row(r.id);
      return { cursor: row.cursor, enabled: row.enabled === 1, failingSince: row.failing_since };
    })();
  }

  /** An endpoint's delivery log, newest first. */
  deliveries(id: number, page: PageQuery): Page<WebhookDeliveryEntry> {
    this.#row(id);
    const [before] = after(page, ['number']) ?? [Number.MAX_SAFE_INTEGER];
    const rows = this.#q.deliveries.all(id, before, page.limit + 1);
    const { items, next } = pageOf(rows, page.limit, (d) => [d.id]);
    return {
      items: items.map((d) => ({
        seq: d.seq,
        event: d.event,
        at: d.at,
        attempt: d.attempt,
        outcome: d.outcome,
        status: d.status,
        error: d.error,
        durationMs: d.duration_ms,
      })),
      next,
    };
  }

  /** Deletes delivery log entries older than `keepMs`. */
  prune(keepMs: number): number {
    return this.#q.prune.run(iso(this.#now() - keepMs)).changes;
  }

  #row(id: number): WebhookRow {
    const row = this.#q.get.get(id);
    if (!row) throw InternalDbErrors.NOT_FOUND(`no webhook ${id}`, { field: 'id' });
    return row;
  }

  /** The endpoint, when `holder` holds its lease now; ERR_CONFLICT otherwise (the lease was lost: stop delivering). */
  #held(holder: string, id: number): WebhookRow {
    const row = this.#row(id);
    if (row.enabled !== 1 || row.lease_holder !== holder || (row.lease_until ?? 0) <= this.#now())
      throw InternalDbErrors.CONFLICT(`${holder} does not hold the lease of webhook ${id} (any more)`, { field: 'holder' });
    return row;
  }
}

function toEndpoint(row: WebhookRow): WebhookEndpoint {
  return {
    id: row.id,
    ownerKind: row.owner_kind,
    owner: row.owner,
    url: row.url,
    events: JSON.parse(row.events) as WebhookEvent[],
    enabled: row.enabled === 1,
    disabledReason: row.disabled_reason,
    disabledAt: row.disabled_at,
    failingSince: row.failing_since,
    cursor: row.cursor,
    createdAt: row.created_at,
  };
}
