import type { Change, ChangeKind } from '../../../lib/contracts/internal-db/changes.js';
import { sessionCheck } from '../../../lib/contracts/internal-db/index.js';
import { FeedCache } from '../feed-cache.js';
import type { InternalDbAsk } from '../internal-db-ask.js';
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
  readonly #db: InternalDbAsk;
  /** By session id: the session's login and start (checked again on a hit) and the customer's name. */
  readonly #cache: FeedCache<{ login: string; startedAt: number; name: string }>;

  constructor(db: InternalDbAsk, cacheMs: number) {
    this.#db = db;
    this.#cache = new FeedCache({ max: MAX_SESSION_CHECKS, ttlMs: cacheMs });
  }

  /** The session's customer when the session is live; the internal-db's ERR_AUTH_REFUSED (or another error) when not. */
  async check(session: Session): Promise<{ login: string; name: string }> {
    const hit = this.#cache.get(session.sid);
    if (hit && hit.login === session.login && hit.startedAt === session.startedAt) return { login: hit.login, name: hit.name };
    const mark = this.#cache.mark(); // a check in flight meanwhile is not remembered (its answer may predate the sign-out)
    const customer = await this.#db.ask(sessionCheck, { login: session.login, sid: session.sid, startedAt: new Date(session.startedAt).toISOString() });
    this.#cache.set(session.sid, { login: session.login, startedAt: session.startedAt, name: customer.name }, mark);
    return customer;
  }

  /** Forgets every answer about a customer's sessions. */
  forgetCustomer(login: string): void {
    this.#cache.forgetWhere((entry) => entry.login === login);
  }

  clear(): void {
    this.#cache.clear();
  }

  /** The change feed's listener. */
  readonly listener = {
    change: (change: Change): void => {
      if (ENDING.has(change.kind) && change.customer !== undefined) this.forgetCustomer(change.customer);
    },
    reset: (): void => this.clear(),
  };
}
