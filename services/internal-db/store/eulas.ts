import type { ChangeActor } from '../../../lib/contracts/internal-db/changes.js';
import type { Db } from '../db/open.js';
import { InternalDbErrors } from '../../../lib/contracts/internal-db/errors.js';
import type { ChangeLog } from './changes.js';
import { iso, type Clock } from './clock.js';
import { after, pageOf, type PageQuery } from './page.js';

/** EULA texts and who accepted which. Acceptance is recorded once; accepting again is a no-op. */
export class Eulas {
  readonly #now: Clock;
  readonly #changes: ChangeLog;
  readonly #q;

  constructor(db: Db, now: Clock, changes: ChangeLog) {
    this.#now = now;
    this.#changes = changes;
    this.#q = {
      insert: db.prepare('INSERT INTO eulas (title, body, created_at) VALUES (?, ?, ?)'),
      get: db.prepare<[number], { id: number; title: string; body: string; created_at: string }>('SELECT id, title, body, created_at FROM eulas WHERE id = ?'),
      list: db.prepare<[number, number], { id: number; title: string; createdAt: string }>(
        'SELECT id, title, created_at AS createdAt FROM eulas WHERE id > ? ORDER BY id LIMIT ?',
      ),
      accept: db.prepare('INSERT OR IGNORE INTO eula_acceptances (customer_id, eula_id, accepted_at) VALUES (?, ?, ?)'),
      acceptance: db.prepare<[number, number], { accepted_at: string }>('SELECT accepted_at FROM eula_acceptances WHERE customer_id = ? AND eula_id = ?'),
    };
  }

  create(title: string, body: string, by?: ChangeActor) {
    const id = Number(this.#q.insert.run(title, body, iso(this.#now())).lastInsertRowid);
    this.#changes.record('eula.created', { eulaId: id }, by);
    return { id, title };
  }

  get(id: number) {
    const eula = this.#q.get.get(id);
    if (!eula) throw InternalDbErrors.NOT_FOUND(`no EULA ${id}`, { field: 'eula' });
    return { id: eula.id, title: eula.title, body: eula.body, createdAt: eula.created_at };
  }

  /** EULAs, oldest first, a page at a time. */
  list(page: PageQuery) {
    const [id] = after(page, ['number']) ?? [0];
    return pageOf(this.#q.list.all(id, page.limit + 1), page.limit, (e) => [e.id]);
  }

  /** Records the customer's acceptance; the first one only is a change. */
  accept(customer: { id: number; login: string }, eulaId: number, by?: ChangeActor) {
    this.get(eulaId);
    if (this.#q.accept.run(customer.id, eulaId, iso(this.#now())).changes === 1)
      this.#changes.record('eula.accepted', { customer: customer.login, eulaId }, by);
    return { eula: eulaId, acceptedAt: (this.#q.acceptance.get(customer.id, eulaId) as { accepted_at: string }).accepted_at };
  }

  acceptedAt(customerId: number, eulaId: number): string | null {
    return this.#q.acceptance.get(customerId, eulaId)?.accepted_at ?? null;
  }
}
