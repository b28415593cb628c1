import semver from 'semver';
import type { Db } from '../db/open.js';
import { DbErrors } from '../errors.js';
import type { Catalogue } from './catalogue.js';
import { iso, type Clock } from './clock.js';

export type ExpiryRule = 'keep' | 'revoke';
export type EntitlementStatus = 'pending' | 'active' | 'expired-keep' | 'expired' | 'revoked';

interface EntitlementRow {
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
  id: number;
  version: string;
  channel: string;
  published_at: string;
}

export interface ResolveFilter {
  product?: string | undefined;
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
  readonly #q;

  constructor(db: Db, now: Clock, catalogue: Catalogue) {
    this.#now = now;
    this.#catalogue = catalogue;
    this.#q = {
      insert: db.prepare('INSERT INTO entitlements (customer_id, product_id, version_range, starts_at, expires_at, on_expiry, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      byId: db.prepare<[number], { id: number; revoked_at: string | null }>('SELECT id, revoked_at FROM entitlements WHERE id = ?'),
      revoke: db.prepare('UPDATE entitlements SET revoked_at = ? WHERE id = ?'),
      ofCustomer: db.prepare<[number], EntitlementRow>(
        'SELECT e.id, p.code AS product, p.id AS product_id, p.eula_id, e.version_range, e.starts_at, e.expires_at, e.on_expiry, e.revoked_at FROM entitlements e JOIN products p ON p.id = e.product_id WHERE e.customer_id = ? ORDER BY e.id',
      ),
      published: db.prepare<[number], PublishedRelease>(
        "SELECT id, version, channel, published_at FROM releases WHERE product_id = ? AND status = 'published' ORDER BY id",
      ),
      accepted: db.prepare<[number, number], { accepted_at: string }>('SELECT accepted_at FROM eula_acceptances WHERE customer_id = ? AND eula_id = ?'),
    };
  }

  grant(customerId: number, productCode: string, range: string, startsAt: number | null, expiresAt: number | null, onExpiry: ExpiryRule) {
    const product = this.#catalogue.product(productCode);
    if (semver.validRange(range) === null) throw DbErrors.INVALID_INPUT(`range "${range}" is not a semver range (e.g. ^2.0.0, >=1.2 <3, *)`, { field: 'range' });
    const start = startsAt ?? this.#now();
    if (expiresAt !== null && expiresAt <= start) throw DbErrors.INVALID_INPUT('expiresAt must be after startsAt', { field: 'expiresAt' });
    const id = Number(
      this.#q.insert.run(customerId, product.id, range, iso(start), expiresAt === null ? null : iso(expiresAt), onExpiry, iso(this.#now())).lastInsertRowid,
    );
    return { id, product: productCode, range, startsAt: iso(start), expiresAt: expiresAt === null ? null : iso(expiresAt), onExpiry };
  }

  revoke(id: number) {
    const row = this.#q.byId.get(id);
    if (!row) throw DbErrors.NOT_FOUND(`no entitlement ${id}`, { field: 'id' });
    if (row.revoked_at !== null) throw DbErrors.STATE(`entitlement ${id} is revoked already`);
    this.#q.revoke.run(iso(this.#now()), id);
    return { id, revoked: true };
  }

  /** Every entitlement of the customer, with its status now. */
  list(customerId: number) {
    const now = this.#now();
    return this.#q.ofCustomer.all(customerId).map((e) => ({
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
   * The artifacts the customer may download now, newest release first within each product.
   * `eulaId`/`eulaAccepted` tell the web host whether a EULA gate stands before the download.
   */
  resolve(customerId: number, filter: ResolveFilter = {}) {
    const now = this.#now();
    const out: Record<string, string | number | boolean | null>[] = [];
    const seen = new Set<number>();
    for (const e of this.#q.ofCustomer.all(customerId)) {
      if (filter.product !== undefined && e.product !== filter.product) continue;
      const status = statusOf(e, now);
      if (status !== 'active' && status !== 'expired-keep') continue;
      const cutoff = status === 'expired-keep' ? (e.expires_at as string) : undefined;
      const eulaAccepted = e.eula_id === null ? true : this.#q.accepted.get(customerId, e.eula_id) !== undefined;
      const releases = this.#q.published
        .all(e.product_id)
        .filter((r) => (cutoff === undefined || r.published_at <= cutoff) && satisfies(r.version, e.version_range))
        .filter((r) => filter.channel === undefined || r.channel === filter.channel)
        .sort((a, b) => semver.rcompare(a.version, b.version));
      for (const r of releases) {
        if (seen.has(r.id)) continue; // two entitlements may cover the same release
        seen.add(r.id);
        for (const a of this.#catalogue.artifactsOf(r.id)) {
          if (filter.platform !== undefined && a.platform !== filter.platform && a.platform !== 'any') continue;
          if (filter.arch !== undefined && a.arch !== filter.arch && a.arch !== 'any') continue;
          out.push({
            product: e.product,
            version: r.version,
            channel: r.channel,
            publishedAt: r.published_at,
            artifactId: a.id,
            filename: a.filename,
            size: a.size,
            sha256: a.sha256,
            platform: a.platform,
            arch: a.arch,
            objectId: a.objectId,
            eulaId: e.eula_id,
            eulaAccepted,
          });
        }
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

/** Prereleases match only ranges that name a prerelease of the same version (semver's rule),
 *  unless the range is "*", which takes everything. */
function satisfies(version: string, range: string): boolean {
  return semver.satisfies(version, range, { includePrerelease: range.trim() === '*' });
}
