import semver from 'semver';
import type { ChangeActor } from '../../../lib/contracts/internal-db/changes.js';
import type { Db } from '../db/open.js';
import { InternalDbErrors } from '../../../lib/contracts/internal-db/errors.js';
import type { ChangeLog } from './changes.js';
import { iso, type Clock } from './clock.js';
import { after, pageOf, type PageQuery } from './page.js';

export interface ArtifactInput {
  filename: string;
  size: number;
  sha256: string;
  platform: string;
  arch: string;
  objectId: string;
}

interface ReleaseRow {
  id: number;
  product_id: number;
  version: string;
  channel: string;
  status: 'draft' | 'published' | 'yanked';
  published_at: string | null;
  yanked_at: string | null;
}

/**
 * Vendors, products, releases and artifacts: what vendors publish. Each change is recorded in the
 * change log (call inside a transaction), naming the product's vendor; a call that changes
 * nothing (disabling a disabled vendor, setting the EULA a product has) records nothing.
 */
export class Catalogue {
  /** Bumped by every change to releases through this object; caches of releases compare it. */
  generation = 0;
  readonly #db: Db;
  readonly #now: Clock;
  readonly #changes: ChangeLog;
  readonly #q;

  constructor(db: Db, now: Clock, changes: ChangeLog) {
    this.#db = db;
    this.#now = now;
    this.#changes = changes;
    this.#q = {
      insertVendor: db.prepare('INSERT INTO vendors (name, created_at) VALUES (?, ?)'),
      vendorByName: db.prepare<[string], { id: number; name: string; disabled: 0 | 1 }>('SELECT id, name, disabled FROM vendors WHERE name = ?'),
      vendors: db.prepare<[string | null, string | null, number], { id: number; name: string; disabled: 0 | 1; createdAt: string }>(
        'SELECT id, name, disabled, created_at AS createdAt FROM vendors WHERE (? IS NULL OR name > ?) ORDER BY name LIMIT ?',
      ),
      vendorById: db.prepare<[number], { name: string; disabled: 0 | 1 }>('SELECT name, disabled FROM vendors WHERE id = ?'),
      setVendorDisabled: db.prepare('UPDATE vendors SET disabled = ? WHERE id = ?'),
      insertProduct: db.prepare('INSERT INTO products (vendor_id, code, name, eula_id, created_at) VALUES (?, ?, ?, ?, ?)'),
      productByCode: db.prepare<[string], { id: number; code: string; name: string; eula_id: number | null; vendor_id: number; vendor: string }>(
        'SELECT p.id, p.code, p.name, p.eula_id, p.vendor_id, v.name AS vendor FROM products p JOIN vendors v ON v.id = p.vendor_id WHERE p.code = ?',
      ),
      products: db.prepare<
        { vendor: string | null; code: string | null; after: string | null; limit: number },
        { id: number; code: string; name: string; vendor: string; eulaId: number | null }
      >(
        `SELECT p.id, p.code, p.name, v.name AS vendor, p.eula_id AS eulaId FROM products p JOIN vendors v ON v.id = p.vendor_id
         WHERE (@vendor IS NULL OR v.name = @vendor) AND (@code IS NULL OR p.code = @code) AND (@after IS NULL OR p.code > @after)
         ORDER BY p.code LIMIT @limit`,
      ),
      setProductEula: db.prepare('UPDATE products SET eula_id = ? WHERE id = ?'),
      eulaExists: db.prepare<[number], { id: number }>('SELECT id FROM eulas WHERE id = ?'),
      insertRelease: db.prepare("INSERT INTO releases (product_id, version, channel, status, created_at) VALUES (?, ?, ?, 'draft', ?)"),
      release: db.prepare<[number, string], ReleaseRow>('SELECT * FROM releases WHERE product_id = ? AND version = ?'),
      releases: db.prepare<{ product: number; version: string | null; after: number | null; limit: number }, ReleaseRow>(
        `SELECT * FROM releases WHERE product_id = @product AND (@version IS NULL OR version = @version) AND (@after IS NULL OR id > @after)
         ORDER BY id LIMIT @limit`,
      ),
      publish: db.prepare("UPDATE releases SET status = 'published', published_at = ? WHERE id = ?"),
      yank: db.prepare("UPDATE releases SET status = 'yanked', yanked_at = ? WHERE id = ?"),
      insertArtifact: db.prepare(
        'INSERT INTO artifacts (release_id, filename, size, sha256, platform, arch, object_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      artifacts: db.prepare<[number], { id: number; filename: string; size: number; sha256: string; platform: string; arch: string; objectId: string }>(
        'SELECT id, filename, size, sha256, platform, arch, object_id AS objectId FROM artifacts WHERE release_id = ? ORDER BY filename',
      ),
      artifactCount: db.prepare<[number], { n: number }>('SELECT count(*) AS n FROM artifacts WHERE release_id = ?'),
    };
  }

  createVendor(name: string, by?: ChangeActor) {
    if (this.#q.vendorByName.get(name)) throw InternalDbErrors.CONFLICT(`vendor "${name}" exists`, { field: 'name' });
    const id = Number(this.#q.insertVendor.run(name, iso(this.#now())).lastInsertRowid);
    this.#changes.record('vendor.created', { vendor: name }, by);
    return { id, name };
  }

  /** Vendors by name, a page at a time. */
  listVendors(page: PageQuery) {
    const [name] = after(page, ['string']) ?? [null];
    const { items, next } = pageOf(this.#q.vendors.all(name, name, page.limit + 1), page.limit, (v) => [v.name]);
    return { items: items.map((v) => ({ ...v, disabled: v.disabled === 1 })), next };
  }

  /** Whether a vendor of that name exists. */
  hasVendor(name: string): boolean {
    return this.#q.vendorByName.get(name) !== undefined;
  }

  /** A vendor's name and whether it is disabled, by id. */
  vendorById(id: number): { name: string; disabled: boolean } | undefined {
    const vendor = this.#q.vendorById.get(id);
    return vendor && { name: vendor.name, disabled: vendor.disabled === 1 };
  }

  /** Disables or enables a vendor: a disabled vendor's tokens are refused. */
  setVendorDisabled(name: string, disabled: boolean, by?: ChangeActor) {
    const vendor = this.#vendor(name);
    if ((vendor.disabled === 1) !== disabled) {
      this.#q.setVendorDisabled.run(disabled ? 1 : 0, vendor.id);
      this.#changes.record(disabled ? 'vendor.disabled' : 'vendor.enabled', { vendor: name }, by);
    }
    return { name, disabled };
  }

  vendorId(name: string): number {
    return this.#vendor(name).id;
  }

  #vendor(name: string) {
    const vendor = this.#q.vendorByName.get(name);
    if (!vendor) throw InternalDbErrors.NOT_FOUND(`no vendor "${name}"`, { field: 'vendor' });
    return vendor;
  }

  createProduct(vendor: string, code: string, name: string, eulaId: number | null, by?: ChangeActor) {
    const vendorId = this.vendorId(vendor);
    if (this.#q.productByCode.get(code)) throw InternalDbErrors.CONFLICT(`product "${code}" exists`, { field: 'code' });
    if (eulaId !== null) this.#requireEula(eulaId);
    const id = Number(this.#q.insertProduct.run(vendorId, code, name, eulaId, iso(this.#now())).lastInsertRowid);
    this.#changes.record('product.created', { vendor, product: code }, by);
    if (eulaId !== null) this.#changes.record('eula.set', { vendor, product: code, eulaId }, by);
    return { id, code, name, vendor, eulaId };
  }

  /** Sets (or, with null, removes) the EULA of a product: eula.set, without eulaId when removed. */
  setProductEula(code: string, eulaId: number | null, by?: ChangeActor) {
    const product = this.product(code);
    if (eulaId !== null) this.#requireEula(eulaId);
    if (product.eula_id !== eulaId) {
      this.#q.setProductEula.run(eulaId, product.id);
      this.#changes.record('eula.set', { vendor: product.vendor, product: code, eulaId: eulaId ?? undefined }, by);
    }
    return { code, eulaId };
  }

  /** Products by code, of one vendor or all, or the one product `code`; a page at a time. */
  listProducts(filter: { vendor: string | null; code: string | null }, page: PageQuery) {
    const [code] = after(page, ['string']) ?? [null];
    return pageOf(this.#q.products.all({ ...filter, after: code, limit: page.limit + 1 }), page.limit, (p) => [p.code]);
  }

  product(code: string) {
    const product = this.#q.productByCode.get(code);
    if (!product) throw InternalDbErrors.NOT_FOUND(`no product "${code}"`, { field: 'product' });
    return product;
  }

  createRelease(productCode: string, version: string, channel: string, by?: ChangeActor) {
    const product = this.product(productCode);
    const clean = semver.valid(version);
    if (!clean || clean !== version)
      throw InternalDbErrors.INVALID_INPUT(`version "${version}" is not a semantic version (e.g. 2.1.0 or 3.0.0-beta.1)`, { field: 'version' });
    if (this.#q.release.get(product.id, version)) throw InternalDbErrors.CONFLICT(`${productCode} ${version} exists`, { field: 'version' });
    const id = Number(this.#q.insertRelease.run(product.id, version, channel, iso(this.#now())).lastInsertRowid);
    this.generation++;
    this.#changes.record('release.created', { vendor: product.vendor, product: productCode, version }, by);
    return { id, product: productCode, version, channel, status: 'draft' as const };
  }

  /** A release, with its product's vendor (the subject of its changes). */
  release(productCode: string, version: string): ReleaseRow & { vendor: string } {
    const product = this.product(productCode);
    const release = this.#q.release.get(product.id, version);
    if (!release) throw InternalDbErrors.NOT_FOUND(`no release ${productCode} ${version}`, { field: 'version' });
    return { ...release, vendor: product.vendor };
  }

  addArtifact(productCode: string, version: string, a: ArtifactInput, by?: ChangeActor) {
    const release = this.release(productCode, version);
    if (release.status !== 'draft') throw InternalDbErrors.STATE(`${productCode} ${version} is ${release.status}; artifacts are added to drafts only`);
    try {
      const id = Number(this.#q.insertArtifact.run(release.id, a.filename, a.size, a.sha256, a.platform, a.arch, a.objectId, iso(this.#now())).lastInsertRowid);
      this.#changes.record('artifact.added', { vendor: release.vendor, product: productCode, version, filename: a.filename }, by);
      return { id, product: productCode, version, ...a };
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw InternalDbErrors.CONFLICT(`${productCode} ${version} has a file "${a.filename}"`, { field: 'filename' });
      throw err;
    }
  }

  publish(productCode: string, version: string, by?: ChangeActor) {
    const release = this.release(productCode, version);
    if (release.status !== 'draft') throw InternalDbErrors.STATE(`${productCode} ${version} is ${release.status}, not a draft`);
    if ((this.#q.artifactCount.get(release.id)?.n ?? 0) === 0) throw InternalDbErrors.STATE(`${productCode} ${version} has no artifacts to publish`);
    const at = iso(this.#now());
    this.#q.publish.run(at, release.id);
    this.generation++;
    this.#changes.record('release.published', { vendor: release.vendor, product: productCode, version }, by);
    return { product: productCode, version, status: 'published' as const, publishedAt: at };
  }

  yank(productCode: string, version: string, by?: ChangeActor) {
    const release = this.release(productCode, version);
    if (release.status !== 'published') throw InternalDbErrors.STATE(`${productCode} ${version} is ${release.status}; only published releases can be yanked`);
    const at = iso(this.#now());
    this.#q.yank.run(at, release.id);
    this.generation++;
    this.#changes.record('release.yanked', { vendor: release.vendor, product: productCode, version }, by);
    return { product: productCode, version, status: 'yanked' as const, yankedAt: at };
  }

  /** The releases of a product (or the one release `version`), oldest first, a page at a time. */
  listReleases(productCode: string, version: string | null, page: PageQuery) {
    const product = this.product(productCode);
    const [id] = after(page, ['number']) ?? [null];
    const { items, next } = pageOf(this.#q.releases.all({ product: product.id, version, after: id, limit: page.limit + 1 }), page.limit, (r) => [r.id]);
    const releases = items.map((r) => ({
      version: r.version,
      channel: r.channel,
      status: r.status,
      publishedAt: r.published_at,
      yankedAt: r.yanked_at,
      artifacts: this.#q.artifacts.all(r.id),
    }));
    return { items: releases, next };
  }

  /** Artifacts of one release (for resolve). */
  artifactsOf(releaseId: number) {
    return this.#q.artifacts.all(releaseId);
  }

  #requireEula(eulaId: number): void {
    if (!this.#q.eulaExists.get(eulaId)) throw InternalDbErrors.NOT_FOUND(`no EULA ${eulaId}`, { field: 'eula' });
  }

  get db(): Db {
    return this.#db;
  }
}
