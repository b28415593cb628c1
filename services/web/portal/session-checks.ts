import { LRUCache } from 'lru-cache';
import type { Change, ChangeKind } from '../../../lib/contracts/internal-db/changes.js';
import { sessionCheck } from '../../../lib/contracts/internal-db/index.js';
import type { InternalDbLink } from '../internal-db-link.js';
import type { Session } from './session.js';

/** Session checks remembered at most (beyond, the least recently used is asked again). */
export const MAX_SESSION_CHECKS = 10_000;

/** Changes that end a customer's sessions (or may: a sign-out names the customer, not the session). */
const ENDING: ReadonlySet<ChangeKind> = new Set<ChangeKind>(['customer.signed_out', 'customer.disabled', 'customer.password_changed']);

/**
 * The internal-db's answers to `session.check` (is this portal session still live?), remembered
 * for `cacheMs` by session id, so that a page does not cost a round trip to the internal-db. The
 * change feed drops a customer's answers when one of its sessions is signed out, its password
 * changes or it is disabled (on every web host, within a second), and all of them on a reset.
 * Refusals are never remembered (the cookie is cleared at once anyway).
 */
export class SessionChecks {
  readonly #db: InternalDbLink;
  /** By session id: the session's login and start (checked again on a hit) and the customer's name. */
  readonly #cache: LRUCache<string, { login: string; startedAt: number; name: string }> | undefined;
  /** Counts what was dropped: a check in flight meanwhile is not remembered (its answer may predate the sign-out). */
  #drops = 0;

  constructor(db: InternalDbLink, cacheMs: number) {
    this.#db = db;
    this.#cache = cacheMs > 0 ? new LRUCache({ max: MAX_SESSION_CHECKS, ttl: cacheMs }) : undefined;
  }

  /** The session's customer when the session is live; the internal-db's ERR_AUTH_REFUSED (or another error) when not. */
  async check(session: Session): Promise<{ login: string; name: string }> {
    const hit = this.#cache?.get(session.sid);
    if (hit && hit.login === session.login && hit.startedAt === session.startedAt) return { login: hit.login, name: hit.name };
    const drops = this.#drops;
    const customer = await this.#db.ask(sessionCheck, { login: session.login, sid: session.sid, startedAt: new Date(session.startedAt).toISOString() });
    if (drops === this.#drops) this.#cache?.set(session.sid, { login: session.login, startedAt: session.startedAt, name: customer.name });
    return customer;
  }

  /** Forgets every answer about a customer's sessions. */
  forgetCustomer(login: string): void {
    this.#drops++;
    if (!this.#cache) return;
    const doomed: string[] = [];
    for (const [sid, entry] of this.#cache.entries()) if (entry.login === login) doomed.push(sid);
    for (const sid of doomed) this.#cache.delete(sid);
  }

  clear(): void {
    this.#drops++;
    this.#cache?.clear();
  }

  /** The change feed's listener. */
  readonly listener = {
    change: (change: Change): void => {
      if (ENDING.has(change.kind) && change.customer !== undefined) this.forgetCustomer(change.customer);
    },
    reset: (): void => this.clear(),
  };
}
