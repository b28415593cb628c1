import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { tokenCheck } from '../../../lib/contracts/internal-db/index.js';
import { isError } from '../../../lib/errors/index.js';
import { WebErrors } from '../errors.js';
import type { InternalDbLink } from '../internal-db-link.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { Principal } from './principal.js';

const BEARER = /^Bearer ([A-Za-z0-9._~+/=-]{16,256})$/;

/** Checked tokens remembered at most (beyond, the least recently used is forgotten). */
const MAX_REMEMBERED = 10_000;

/**
 * API tokens: `Authorization: Bearer <token>`, checked with the internal-db (`token.check`). A
 * checked token is remembered for `cacheMs` (keyed by its SHA-256, never the token itself), so a
 * revoked token may work that long; failures are never remembered.
 */
export class ApiTokens {
  readonly #db: InternalDbLink;
  readonly #metrics: WebMetrics;
  /** By the token's SHA-256; none when `cacheMs` is 0 (every request is checked). */
  readonly #cache: LRUCache<string, Principal> | undefined;

  constructor(db: InternalDbLink, metrics: WebMetrics, cacheMs: number) {
    this.#db = db;
    this.#metrics = metrics;
    this.#cache = cacheMs > 0 ? new LRUCache({ max: MAX_REMEMBERED, ttl: cacheMs }) : undefined;
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
    const cached = this.#cache?.get(key);
    if (cached) return cached;
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
    this.#cache?.set(key, principal);
    return principal;
  }

  /** Forgets every remembered token (after a revocation through this web host). */
  forget(): void {
    this.#cache?.clear();
  }

  /** Forgets the remembered tokens of one customer or vendor (it was disabled). */
  forgetOwner(owner: { customer: string } | { vendor: string }): void {
    if (!this.#cache) return;
    for (const [key, principal] of this.#cache.entries()) {
      const held =
        'customer' in owner
          ? principal.kind === 'customer' && principal.customer === owner.customer
          : principal.kind === 'vendor' && principal.vendor === owner.vendor;
      if (held) this.#cache.delete(key);
    }
  }
}

function principalOf(reply: { tokenId: number; kind: string; customer: string | null; vendor: string | null }): Principal {
  const label = `token:${reply.tokenId}`;
  if (reply.kind === 'customer' && reply.customer)
    return { kind: 'customer', customer: reply.customer, via: 'token', label: `${label}:customer:${reply.customer}` };
  if (reply.kind === 'vendor' && reply.vendor) return { kind: 'vendor', vendor: reply.vendor, via: 'token', label: `${label}:vendor` };
  if (reply.kind === 'admin') return { kind: 'admin', via: 'token', label: `${label}:admin` };
  throw WebErrors.UNAUTHENTICATED('the API token has no live owner');
}
