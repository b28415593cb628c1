import semver from 'semver';
import type { ChangeActor } from '../../../lib/contracts/internal-db/changes.js';
import type { ResolvedArtifact } from '../../../lib/contracts/internal-db/shapes.js';
import type { Db } from '../db/open.js';
import { InternalDbErrors } from '../../../lib/contracts/internal-db/errors.js';
import type { Catalogue } from './catalogue.js';
import type { ChangeLog } from './changes.js';
import { iso, type Clock } from './clock.js';

export type ExpiryRule = 'keep' | 'revoke';
export type EntitlementStatus = 'pending' | 'active' | 'expired-keep' | 'expired' | 'revoked';

export interface EntitlementRow {
  id: number;
  product: string;
  product_id: number;
  eula_id: number | null;
  version_range: string;
  starts_at: string;
  expires_at: string | null;
  on_expiry: ExpiryRule;
  revoked_at: string | null;
}

interface PublishedRelease {
  release_id: number;
  version: string;
  channel: string;
  published_at: string;
}

interface CachedRelease extends PublishedRelease {
  parsed: semver.SemVer;
}

export interface GrantedRelease {
  releaseId: number;
  product: string;
  version: string;
  channel: string;
  publishedAt: string;
  eulaId: number | null;
}

export interface ResolveFilter {
  product?: string | undefined;
  version?: string | undefined;
  platform?: string | undefined;
  arch?: string | undefined;
  channel?: string | undefined;
}

/**
 * Entitlements: customer × product, a semver range, a start, an optional expiry, and what expiry
 * means — `keep`: releases published before the expiry stay available; `revoke`: nothing does.
 * A revoked entitlement grants nothing. Yanked and draft releases are never granted.
 */
export class Entitlements {
  readonly #now: Clock;
  readonly #catalogue: Catalogue;
  readonly #changes: ChangeLog;
  readonly #q;
  /** Called after a grant (the change clock sleeps until the next due time, which a grant may bring closer). */
  onGrant: (() => void) | undefined;
  /**
   * Published releases by product, newest first, with parsed versions. Entitlements are always
   * read live; this cache holds only the catalogue, and is dropped when it may have changed: a
   * release change through this process (Catalogue.generation) or a commit by another connection,
   * such as the admin CLI (SQLite's data_version).
   */
  readonly #published = new Map<number, CachedRelease[]>();
  readonly #publishedByRelease = new Map<number, CachedRelease>();
  #cachedGeneration = -1;
  #cachedDataVersion = -1;

  constructor(db: Db, now: Clock, catalogue: Catalogue, changes: ChangeLog) {
    this.#now = now;
    this.#catalogue = catalogue;
    this.#changes = changes;
    this.#q = {
      insert: db.prepare(
        `INSERT INTO entitlements (customer_id, product_id, version_range, starts_at, expires_at, on_expiry, created_at, start_noted, expiring_noted,
         expiry_noted) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      startDue: db.prepare<[string, number], { id: number }>(
        'SELECT id FROM entitlements WHERE start_noted = 0 AND revoked_at IS NULL AND starts_at <= ? ORDER BY starts_at LIMIT ?',
      ),
      expiringDue: db.prepare<[string, string, number], { id: number }>(
        `SELECT id FROM entitlements WHERE expiring_noted = 0 AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ? AND starts_at <= ?
         ORDER BY expires_at LIMIT ?`,
      ),
      expiryDue: db.prepare<[string, number], { id: number }>(
        'SELECT id FROM entitlements WHERE expiry_noted = 0 AND revoked_at IS NULL AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at LIMIT ?',
      ),
      noteStart: db.prepare('UPDATE entitlements SET start_noted = 1 WHERE id = ? AND start_noted = 0'),
      noteExpiring: db.prepare('UPDATE entitlements SET expiring_noted = 1 WHERE id = ? AND expiring_noted = 0'),
      noteExpiry: db.prepare('UPDATE entitlements SET expiry_noted = 1 WHERE id = ? AND expiry_noted = 0'),
      nextStart: db.prepare<[], string | null>('SELECT min(starts_at) FROM entitlements WHERE start_noted = 0 AND revoked_at IS NULL').pluck(),
      nextExpiring: db
        .prepare<[], string | null>('SELECT min(expires_at) FROM entitlements WHERE expiring_noted = 0 AND revoked_at IS NULL AND expires_at IS NOT NULL')
        .pluck(),
      nextExpiry: db
        .prepare<[], string | null>('SELECT min(expires_at) FROM entitlements WHERE expiry_noted = 0 AND revoked_at IS NULL AND expires_at IS NOT NULL')
        .pluck(),
      subject: db.prepare<[number], { customer: string; vendor: string; product: string }>(
        `SELECT c.login AS customer, v.name AS vendor, p.code AS product FROM entitlements e JOIN customers c ON c.id = e.customer_id
         JOIN products p ON p.id = e.product_id JOIN vendors v ON v.id = p.vendor_id WHERE e.id = ?`,
      ),
      byId: db.prepare<[number], { id: number; customer_id: number; revoked_at: string | null }>(
        'SELECT id, customer_id, revoked_at FROM entitlements WHERE id = ?',
      ),
      revoke: db.prepare('UPDATE entitlements SET revoked_at = ? WHERE id = ?'),
      ofCustomer: db.prepare<[number], EntitlementRow>(
        `SELECT e.id, p.code AS product, p.id AS product_id, p.eula_id, e.version_range, e.starts_at, e.expires_at, e.on_expiry, e.revoked_at
         FROM entitlements e JOIN products p ON p.id = e.product_id WHERE e.customer_id = ? ORDER BY e.id`,
      ),
      published: db.prepare<[number], PublishedRelease>(
        "SELECT id AS release_id, version, channel, published_at FROM releases WHERE product_id = ? AND status = 'published'",
      ),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      accepted: db.prepare<[number, number], { accepted_at: string }>('SELECT accepted_at FROM eula_acceptances WHERE customer_id = ? AND eula_id = ?'),
    };
  }

  grant(customerId: number, productCode: string, range: string, startsAt: number | null, expiresAt: number | null, onExpiry: ExpiryRule, by?: ChangeActor) {
    const product = this.#catalogue.product(productCode);
    if (semver.validRange(range) === null)
      throw InternalDbErrors.INVALID_INPUT(`range "${range}" is not a semver range (e.g. ^2.0.0, >=1.2 <3, *)`, { field: 'range' });
    const start = startsAt ?? this.#now();
    if (expiresAt !== null && expiresAt <= start) throw InternalDbErrors.INVALID_INPUT('expiresAt must be after startsAt', { field: 'expiresAt' });
    // A time already reached is not a change to come: the grant says it (entitlement.granted), the change clock will not.
    const now = this.#now();
    const started = start <= now ? 1 : 0;
    const expired = expiresAt !== null && expiresAt <= now ? 1 : 0;
    const id = Number(
      this.#q.insert.run(customerId, product.id, range, iso(start), expiresAt === null ? null : iso(expiresAt), onExpiry, iso(now), started, expired, expired)
        .lastInsertRowid,
    );
    this.#changes.record('entitlement.granted', this.subject(id), by);
    this.onGrant?.();
    return { id, product: productCode, range, startsAt: iso(start), expiresAt: expiresAt === null ? null : iso(expiresAt), onExpiry };
  }

  /** Revokes an entitlement; with `customerId`, only one of that customer's. */
  revoke(id: number, customerId?: number, by?: ChangeActor) {
    const row = this.#q.byId.get(id);
    if (!row || (customerId !== undefined && row.customer_id !== customerId)) throw InternalDbErrors.NOT_FOUND(`no entitlement ${id}`, { field: 'id' });
    if (row.revoked_at !== null) throw InternalDbErrors.STATE(`entitlement ${id} is revoked already`);
    this.#q.revoke.run(iso(this.#now()), id);
    this.#changes.record('entitlement.revoked', this.subject(id), by);
    return { id, revoked: true as const };
  }

  /**
   * Records the time-based changes that are due now (call inside a transaction), oldest due
   * first, at most `limit` of each kind: entitlement.starting (starts_at reached),
   * entitlement.expiring (`expiringNoticeMs` before expires_at, once started), entitlement.expired
   * (expires_at reached); never for a revoked entitlement. Each sets its *_noted flag with its
   * record, so each is recorded once, however often this runs and across restarts. For one
   * entitlement they come in that order. Returns how many were recorded.
   */
  recordDue(expiringNoticeMs: number, limit: number): number {
    const now = this.#now();
    const nowIso = iso(now);
    let recorded = 0;
    const note = (rows: { id: number }[], flag: { run(id: number): { changes: number } }, kind: 'starting' | 'expiring' | 'expired') => {
      for (const { id } of rows) {
        if (flag.run(id).changes === 0) continue;
        this.#changes.record(`entitlement.${kind}`, this.subject(id), undefined);
        recorded++;
      }
    };
    note(this.#q.startDue.all(nowIso, limit), this.#q.noteStart, 'starting');
    note(this.#q.expiringDue.all(iso(now + expiringNoticeMs), nowIso, limit), this.#q.noteExpiring, 'expiring');
    note(this.#q.expiryDue.all(nowIso, limit), this.#q.noteExpiry, 'expired');
    return recorded;
  }

  /** The earliest time (ms) a time-based change may fall due (null: none pending); never later than the real one. */
  nextDueAt(expiringNoticeMs: number): number | null {
    const times = [this.#q.nextStart.get(), this.#q.nextExpiry.get()].map((t) => (t ? Date.parse(t) : Infinity));
    const expiring = this.#q.nextExpiring.get();
    const next = Math.min(...times, expiring ? Date.parse(expiring) - expiringNoticeMs : Infinity);
    return next === Infinity ? null : next;
  }

  /** What a change of entitlement `id` names: its customer, its product and the product's vendor (one join). */
  subject(id: number) {
    const row = this.#q.subject.get(id);
    if (!row) throw InternalDbErrors.NOT_FOUND(`no entitlement ${id}`, { field: 'id' });
    return { ...row, entitlementId: id };
  }

  /** Every entitlement of the customer, with its status now. */
  list(customerId: number, rows: readonly EntitlementRow[] = this.rows(customerId)) {
    const now = this.#now();
    return rows.map((e) => ({
      id: e.id,
      product: e.product,
      range: e.version_range,
      startsAt: e.starts_at,
      expiresAt: e.expires_at,
      onExpiry: e.on_expiry,
      status: statusOf(e, now),
    }));
  }

  /**
   * The releases the customer may have now: by product, newest version first. Two entitlements
   * that cover the same release list it once.
   */
  /** The customer's entitlement rows, revoked ones included: fetch once, pass to list() and
   *  grantedReleases() when both are needed (auth.check). */
  rows(customerId: number): EntitlementRow[] {
    return this.#q.ofCustomer.all(customerId);
  }

  grantedReleases(customerId: number, filter: ResolveFilter = {}, rows: readonly EntitlementRow[] = this.rows(customerId)): GrantedRelease[] {
    const now = this.#now();
    const granted = new Map<number, GrantedRelease>();
    for (const e of rows) {
      if (filter.product !== undefined && e.product !== filter.product) continue;
      const status = statusOf(e, now);
      if (status !== 'active' && status !== 'expired-keep') continue;
      const range = rangeOf(e.version_range);
      for (const r of this.#publishedOf(e.product_id)) {
        if (granted.has(r.release_id)) continue;
        if (filter.channel !== undefined && r.channel !== filter.channel) continue;
        if (filter.version !== undefined && r.version !== filter.version) continue;
        if (status === 'expired-keep' && r.published_at > (e.expires_at as string)) continue;
        if (!range.test(r.parsed)) continue;
        granted.set(r.release_id, {
          releaseId: r.release_id,
          product: e.product,
          version: r.version,
          channel: r.channel,
          publishedAt: r.published_at,
          eulaId: e.eula_id,
        });
      }
    }
    const order = new Map([...granted.values()].map((r) => [r, this.#parsedVersion(r)]));
    return [...granted.values()].sort((a, b) =>
      a.product === b.product ? (order.get(b) as semver.SemVer).compare(order.get(a) as semver.SemVer) : a.product < b.product ? -1 : 1,
    );
  }

  #parsedVersion(r: GrantedRelease): semver.SemVer {
    return (this.#publishedByRelease.get(r.releaseId) as CachedRelease).parsed;
  }

  #publishedOf(productId: number): CachedRelease[] {
    const dataVersion = this.#q.dataVersion.get() as number;
    if (dataVersion !== this.#cachedDataVersion || this.#catalogue.generation !== this.#cachedGeneration) {
      this.#published.clear();
      this.#publishedByRelease.clear();
      this.#cachedDataVersion = dataVersion;
      this.#cachedGeneration = this.#catalogue.generation;
    }
    let releases = this.#published.get(productId);
    if (!releases) {
      releases = this.#q.published
        .all(productId)
        .map((r) => ({ ...r, parsed: new semver.SemVer(r.version) }))
        .sort((a, b) => b.parsed.compare(a.parsed));
      this.#published.set(productId, releases);
      for (const r of releases) this.#publishedByRelease.set(r.release_id, r);
    }
    return releases;
  }

  /**
   * The artifacts the customer may download now, newest release first within each product.
   * `eulaId`/`eulaAccepted` tell the web host whether a EULA gate stands before the download.
   */
  resolve(customerId: number, filter: ResolveFilter = {}) {
    const out: ResolvedArtifact[] = [];
    const accepted = new Map<number, boolean>();
    for (const r of this.grantedReleases(customerId, filter)) {
      let eulaAccepted = true;
      if (r.eulaId !== null) {
        if (!accepted.has(r.eulaId)) accepted.set(r.eulaId, this.#q.accepted.get(customerId, r.eulaId) !== undefined);
        eulaAccepted = accepted.get(r.eulaId) as boolean;
      }
      for (const a of this.#catalogue.artifactsOf(r.releaseId)) {
        if (filter.platform !== undefined && a.platform !== filter.platform && a.platform !== 'any') continue;
        if (filter.arch !== undefined && a.arch !== filter.arch && a.arch !== 'any') continue;
        out.push({
          product: r.product,
          version: r.version,
          channel: r.channel,
          publishedAt: r.publishedAt,
          artifactId: a.id,
          filename: a.filename,
          size: a.size,
          sha256: a.sha256,
          platform: a.platform,
          arch: a.arch,
          objectId: a.objectId,
          eulaId: r.eulaId,
          eulaAccepted,
        });
      }
    }
    return out;
  }
}

function statusOf(e: EntitlementRow, now: number): EntitlementStatus {
  if (e.revoked_at !== null) return 'revoked';
  if (Date.parse(e.starts_at) > now) return 'pending';
  if (e.expires_at !== null && Date.parse(e.expires_at) <= now) return e.on_expiry === 'keep' ? 'expired-keep' : 'expired';
  return 'active';
}

/** Parsed once per range text. Prereleases match only ranges that name a prerelease of the same
 *  version (semver's rule), unless the range is "*", which takes everything. */
function rangeOf(range: string): semver.Range {
  let parsed = RANGES.get(range);
  if (!parsed) {
    if (RANGES.size >= 10_000) RANGES.clear();
    parsed = new semver.Range(range, { includePrerelease: range.trim() === '*' });
    RANGES.set(range, parsed);
  }
  return parsed;
}

/** Parsed ranges by text: parsing dominates a check, and customers share a few ranges. */
const RANGES = new Map<string, semver.Range>();
