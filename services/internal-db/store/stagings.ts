import type { Db } from '../db/open.js';
import { InternalDbErrors } from '../../../lib/contracts/internal-db/errors.js';
import { iso, type Clock } from './clock.js';
import { after, pageOf, type PageQuery } from './page.js';

/** Which releases are staged for which customer on which file host (the file host reports). */
export class Stagings {
  readonly #now: Clock;
  readonly #q;

  constructor(db: Db, now: Clock) {
    this.#now = now;
    this.#q = {
      upsert: db.prepare(
        `INSERT INTO stagings (customer_id, release_id, host, staged_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (customer_id, release_id, host) DO UPDATE SET staged_at = excluded.staged_at`,
      ),
      remove: db.prepare('DELETE FROM stagings WHERE customer_id = ? AND release_id = ? AND host = ?'),
      customers: db.prepare<{ product: string; version: string | null; after: string; limit: number }, { login: string }>(
        `SELECT DISTINCT c.login FROM stagings s JOIN customers c ON c.id = s.customer_id JOIN releases r ON r.id = s.release_id
         JOIN products p ON p.id = r.product_id WHERE p.code = @product AND (@version IS NULL OR r.version = @version) AND c.login > @after
         ORDER BY c.login LIMIT @limit`,
      ),
      list: db.prepare<{ customer: number; afterId: number; limit: number }, { id: number; product: string; version: string; host: string; stagedAt: string }>(
        `SELECT s.id, p.code AS product, r.version, s.host, s.staged_at AS stagedAt FROM stagings s JOIN releases r ON r.id = s.release_id
         JOIN products p ON p.id = r.product_id WHERE s.customer_id = @customer AND s.id > @afterId ORDER BY s.id LIMIT @limit`,
      ),
    };
  }

  record(customerId: number, releaseId: number, host: string) {
    const at = iso(this.#now());
    this.#q.upsert.run(customerId, releaseId, host, at);
    return { host, stagedAt: at };
  }

  remove(customerId: number, releaseId: number, host: string) {
    if (this.#q.remove.run(customerId, releaseId, host).changes === 0) throw InternalDbErrors.NOT_FOUND('no such staging', { field: 'version' });
    return { removed: true as const };
  }

  /** A customer's stagings, in the order they were first made, a page at a time. */
  list(customerId: number, page: PageQuery) {
    const [afterId] = after(page, ['number']) ?? [0];
    const { items, next } = pageOf(this.#q.list.all({ customer: customerId, afterId, limit: page.limit + 1 }), page.limit, (s) => [s.id]);
    return { items: items.map(({ id: _id, ...staging }) => staging), next };
  }

  /** The customers who have a product (or one release of it) staged, by login, a page at a time. */
  customersOf(product: string, version: string | null, page: PageQuery) {
    const [login] = after(page, ['string']) ?? [''];
    const { items, next } = pageOf(this.#q.customers.all({ product, version, after: login, limit: page.limit + 1 }), page.limit, (c) => [c.login]);
    return { items: items.map((c) => c.login), next };
  }
}
