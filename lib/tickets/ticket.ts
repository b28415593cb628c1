import { LOGIN } from '../contracts/names.js';

/**
 * Download tickets: what the web host grants and the file host checks. A ticket binds a customer,
 * one path in that customer's area and an expiry; it is signed by the web host's RSA private key
 * (node-rsa, PSS with SHA-256) and verified by the file host with the public key alone.
 *
 * Wire form (URL-safe, no padding): `v1.<payload>.<signature>`, where payload is the base64url of
 * the JSON object below and the signature covers the bytes `v1.<payload>`.
 */

export const TICKET_VERSION = 'v1';

export interface TicketClaims {
  /** The customer's login: the area the path lives in. */
  readonly customer: string;
  /** The virtual path inside the area, normalised: `/product/version/filename`. */
  readonly path: string;
  /** Expiry, in milliseconds since the epoch. */
  readonly expiresAt: number;
  /** The artifact the path holds, when the web host knows it (for the audit). */
  readonly artifactId?: number;
  /**
   * When the ticket was issued, in milliseconds since the epoch: set by the signer (the time of
   * signing, unless given). A file host refuses a ticket issued before a change that affects it
   * (a revocation, a yank, a EULA change). A ticket without it (signed before this claim existed)
   * reads as issued at 0.
   */
  readonly issuedAt?: number;
}

/** The JSON inside a ticket: short keys, since it travels in every URL. */
interface Payload {
  c: string;
  p: string;
  e: number;
  a?: number;
  /** Issued at, in ms (not seconds like `e`: a change and a ticket may fall in the same second). */
  i?: number;
}

/** The signed part of a ticket for `claims`; `issuedAt` is now unless the claims say. */
export function encodePayload(claims: TicketClaims, now: () => number = Date.now): string {
  const payload: Payload = { c: claims.customer, p: claims.path, e: Math.floor(claims.expiresAt / 1000) };
  if (claims.artifactId !== undefined) payload.a = claims.artifactId;
  payload.i = claims.issuedAt ?? now();
  return `${TICKET_VERSION}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}`;
}

/** Parses a signed part's payload; returns undefined for anything malformed. */
export function decodePayload(signed: string): TicketClaims | undefined {
  const dot = signed.indexOf('.');
  if (signed.slice(0, dot) !== TICKET_VERSION) return undefined;
  let payload: unknown;
  try {
    payload = JSON.parse(Buffer.from(signed.slice(dot + 1), 'base64url').toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof payload !== 'object' || payload === null) return undefined;
  const { c, p, e, a, i } = payload as Record<string, unknown>;
  if (typeof c !== 'string' || !LOGIN.test(c)) return undefined;
  if (typeof p !== 'string' || !p.startsWith('/') || p.length > 4096) return undefined;
  if (typeof e !== 'number' || !Number.isSafeInteger(e)) return undefined;
  if (a !== undefined && (typeof a !== 'number' || !Number.isSafeInteger(a) || a < 1)) return undefined;
  if (i !== undefined && (typeof i !== 'number' || !Number.isSafeInteger(i) || i < 0)) return undefined;
  return { customer: c, path: p, expiresAt: e * 1000, ...(a === undefined ? {} : { artifactId: a }), issuedAt: i ?? 0 };
}
