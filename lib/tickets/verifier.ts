import NodeRSA from 'node-rsa';
import { TICKET_SCHEME } from './signer.js';
import { decodePayload, type TicketClaims } from './ticket.js';

export type TicketVerdict =
  | { readonly ok: true; readonly claims: TicketClaims }
  | { readonly ok: false; readonly reason: 'malformed' | 'signature' | 'expired'; readonly message: string };

export interface TicketVerifierOptions {
  /** Verified tickets remembered until they expire (0: none). */
  cacheEntries: number;
  now?: () => number;
}

const MAX_TICKET_LENGTH = 8192;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

/**
 * Verifies download tickets with the web host's public key alone. A verified ticket is remembered
 * until it expires (bounded; when full, expired entries are swept and then the oldest go), so a
 * ticket reused for many range requests costs one RSA verification.
 */
export class TicketVerifier {
  readonly #key: NodeRSA;
  readonly #cache = new Map<string, TicketClaims>();
  readonly #cacheEntries: number;
  readonly #now: () => number;

  constructor(publicKeyPem: string, options: TicketVerifierOptions) {
    this.#key = new NodeRSA(publicKeyPem, 'pkcs8-public-pem', { signingScheme: TICKET_SCHEME });
    this.#cacheEntries = options.cacheEntries;
    this.#now = options.now ?? Date.now;
  }

  verify(ticket: string): TicketVerdict {
    const now = this.#now();
    const cached = this.#cache.get(ticket);
    if (cached) {
      if (cached.expiresAt > now) return { ok: true, claims: cached };
      this.#cache.delete(ticket);
      return expired(cached);
    }
    if (ticket.length > MAX_TICKET_LENGTH) return { ok: false, reason: 'malformed', message: 'the ticket is too long' };
    const lastDot = ticket.lastIndexOf('.');
    const claims = lastDot > 0 ? decodePayload(ticket.slice(0, lastDot)) : undefined;
    if (!claims) return { ok: false, reason: 'malformed', message: 'the ticket is malformed' };
    // Only the canonical spelling of a signature is accepted: Buffer's base64url decoder skips
    // stray characters and ignores the last character's spare bits, so one ticket would otherwise
    // have many spellings (each a cache miss, each a way around anything keyed on the ticket).
    const encoded = ticket.slice(lastDot + 1);
    const signature = Buffer.from(encoded, 'base64url');
    if (!BASE64URL.test(encoded) || signature.toString('base64url') !== encoded)
      return { ok: false, reason: 'signature', message: 'the ticket signature is not valid' };
    let valid: boolean;
    try {
      valid = signature.length > 0 && this.#key.verify(Buffer.from(ticket.slice(0, lastDot)), signature);
    } catch {
      valid = false;
    }
    if (!valid) return { ok: false, reason: 'signature', message: 'the ticket signature is not valid' };
    if (claims.expiresAt <= now) return expired(claims);
    this.#remember(ticket, claims, now);
    return { ok: true, claims };
  }

  #remember(ticket: string, claims: TicketClaims, now: number): void {
    if (this.#cacheEntries === 0) return;
    if (this.#cache.size >= this.#cacheEntries) {
      for (const [key, value] of this.#cache) if (value.expiresAt <= now) this.#cache.delete(key);
      // Still full: drop the oldest (Map keeps insertion order).
      for (const key of this.#cache.keys()) {
        if (this.#cache.size < this.#cacheEntries) break;
        this.#cache.delete(key);
      }
    }
    this.#cache.set(ticket, claims);
  }
}

function expired(claims: TicketClaims): TicketVerdict {
  return { ok: false, reason: 'expired', message: `the ticket expired at ${new Date(claims.expiresAt).toISOString()}` };
}
