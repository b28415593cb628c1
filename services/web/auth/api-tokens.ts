import { createHash } from 'node:crypto';
import type { Change } from '../../../lib/contracts/internal-db/changes.js';
import { tokenCheck } from '../../../lib/contracts/internal-db/index.js';
import { isError } from '../../../lib/errors/index.js';
import { WebErrors } from '../errors.js';
import { FeedCache } from '../feed-cache.js';
import type { InternalDbAsk } from '../internal-db-ask.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { Principal } from './principal.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{16,256})$/;

/** Checked tokens remembered at most (beyond, the least recently used is forgotten). */
const MAX_REMEMBERED = 10_000;

/**
 * API tokens: `Authorization: Bearer <token>`, checked with the internal-db (`token.check`). A
 * checked token is remembered for `cacheMs` (keyed by its SHA-256, never the token itself, with
 * the token's id in its principal); the change feed drops it when it is revoked or its owner is
 * disabled (`change`, `reset`), so it may be remembered for minutes. Failures are never remembered.
 */
export class ApiTokens {
  readonly #db: InternalDbAsk;
  readonly #metrics: WebMetrics;
  /** By the token's SHA-256; nothing when `cacheMs` is 0 (every request is checked). */
  readonly #cache: FeedCache<Principal>;

  constructor(db: InternalDbAsk, metrics: WebMetrics, cacheMs: number) {
    this.#db = db;
    this.#metrics = metrics;
    this.#cache = new FeedCache({ max: MAX_REMEMBERED, ttlMs: cacheMs });
  }

  /** The principal of the request's bearer token; ERR_UNAUTHENTICATED when there is none or it is refused. */
  async authenticate(authorization: string): Promise<Principal> {
    if (authorization === '') throw WebErrors.UNAUTHENTICATED('this endpoint needs an API token: Authorization: Bearer <token>');
    const match = BEARER.exec(authorization);
    if (!match) {
      this.#metrics.auth('token', 'refused');
      throw WebErrors.UNAUTHENTICATED('the Authorization header is not "Bearer <token>"');
    }
    const key = createHash('sha256').update(match[1]!).digest('base64');
    const cached = this.#cache.get(key);
    if (cached) return cached;
    const mark = this.#cache.mark(); // a check in flight while the feed drops something is not remembered
    let reply;
    try {
      reply = await this.#db.ask(tokenCheck, { token: match[1]! });
    } catch (err) {
      if (isError(err, WebErrors.AUTH_REFUSED) || isError(err, WebErrors.INVALID_INPUT)) {
        this.#metrics.auth('token', 'refused');
        throw WebErrors.UNAUTHENTICATED('the API token is not valid (unknown or revoked)');
      }
      this.#metrics.auth('token', 'unavailable');
      throw err;
    }
    const principal = principalOf(reply);
    this.#metrics.auth('token', 'ok');
    this.#cache.set(key, principal, mark);
    return principal;
  }

  /** Forgets every remembered token (the change feed was reset). */
  forget(): void {
    this.#cache.clear();
  }

  /** Forgets one token (it was revoked). */
  forgetToken(tokenId: number): void {
    this.#cache.forgetWhere((principal) => principal.tokenId === tokenId);
  }

  /** The change feed's listener: a revoked token, a disabled customer or vendor is forgotten. */
  readonly listener = {
    change: (change: Change): void => {
      if (change.kind === 'token.revoked' && change.tokenId !== undefined) this.forgetToken(change.tokenId);
      else if (change.kind === 'customer.disabled' && change.customer !== undefined) this.forgetOwner({ customer: change.customer });
      else if (change.kind === 'vendor.disabled' && change.vendor !== undefined) this.forgetOwner({ vendor: change.vendor });
    },
    reset: (): void => this.forget(),
  };

  /** Forgets the remembered tokens of one customer or vendor (it was disabled). */
  forgetOwner(owner: { customer: string } | { vendor: string }): void {
    this.#cache.forgetWhere((principal) =>
      'customer' in owner
        ? principal.kind === 'customer' && principal.customer === owner.customer
        : principal.kind === 'vendor' && principal.vendor === owner.vendor,
    );
  }
}

function principalOf(reply: { tokenId: number; kind: string; customer: string | null; vendor: string | null }): Principal {
  const { tokenId } = reply;
  const label = `token:${tokenId}`;
  if (reply.kind === 'customer' && reply.customer)
    return { kind: 'customer', customer: reply.customer, via: 'token', label: `${label}:customer:${reply.customer}`, tokenId };
  if (reply.kind === 'vendor' && reply.vendor) return { kind: 'vendor', vendor: reply.vendor, via: 'token', label: `${label}:vendor`, tokenId };
  if (reply.kind === 'admin') return { kind: 'admin', via: 'token', label: `${label}:admin`, tokenId };
  throw WebErrors.UNAUTHENTICATED('the API token has no live owner');
}
