import type { ChangeActor } from '../../../lib/contracts/internal-db/changes.js';
import type { Db } from '../db/open.js';
import type { ChangeLog } from './changes.js';
import { iso, type Clock } from './clock.js';

/**
 * Portal sessions, as far as the internal-db keeps them: a session lives in its signed cookie, and
 * here are only what ends one before its expiry, where every web host (and a restarted one) sees
 * it: a session signed out (its id, until it would have expired), and a time per customer before
 * which every session is void (set when the password changes or the customer is disabled).
 */
export class Sessions {
  readonly #now: Clock;
  readonly #changes: ChangeLog;
  readonly #q;

  constructor(db: Db, now: Clock, changes: ChangeLog) {
    this.#now = now;
    this.#changes = changes;
    this.#q = {
      end: db.prepare('INSERT OR IGNORE INTO ended_sessions (sid, customer_id, expires_at) VALUES (?, ?, ?)'),
      ended: db.prepare<[string], { customer_id: number }>('SELECT customer_id FROM ended_sessions WHERE sid = ?'),
      sweep: db.prepare('DELETE FROM ended_sessions WHERE expires_at <= ?'),
      validAfter: db.prepare<[number], { sessions_valid_after: string | null }>('SELECT sessions_valid_after FROM customers WHERE id = ?'),
      voidAll: db.prepare('UPDATE customers SET sessions_valid_after = ? WHERE id = ?'),
    };
  }

  /**
   * Ends one session (until `expiresAt`, when its cookie would stop working anyway); ended ones
   * past their expiry are swept. Records customer.signed_out when the session was live until now.
   */
  end(customer: { id: number; login: string }, sid: string, expiresAt: number, by?: ChangeActor): void {
    const now = this.#now();
    this.#q.sweep.run(iso(now));
    if (expiresAt > now && this.#q.end.run(sid, customer.id, iso(expiresAt)).changes === 1)
      this.#changes.record('customer.signed_out', { customer: customer.login }, by);
  }

  /** Voids every session of the customer started before now. */
  endAll(customerId: number): void {
    this.#q.voidAll.run(iso(this.#now()), customerId);
  }

  /** True when the session (started at `startedAt`, ms) has not been ended, one by one or all at once. */
  live(customerId: number, sid: string, startedAt: number): boolean {
    if (this.#q.ended.get(sid) !== undefined) return false;
    const after = this.#q.validAfter.get(customerId)?.sessions_valid_after ?? null;
    return after === null || startedAt >= Date.parse(after);
  }
}
