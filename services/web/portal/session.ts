import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { sessionId } from '../../../lib/contracts/internal-db/sessions.js';
import type { WebContext } from '../http/context.js';
import { clearCookie, readSigned, setSigned, type SecureCookies } from './cookies.js';

export const SESSION_COOKIE = 'ffs_session';

/** What the session cookie holds (signed, not encrypted: nothing secret from its owner). */
export interface Session {
  /** Random; ended at sign-out (in the internal-db, where every web host sees it). */
  sid: string;
  login: string;
  /** When it started, ms since the epoch (a password change ends the sessions started before). */
  startedAt: number;
  /** ms since the epoch. */
  expiresAt: number;
  /** The anti-forgery token of this session's forms. */
  csrf: string;
}

const stored = z.strictObject({
  v: z.literal(2),
  sid: sessionId,
  login: z.string().min(1).max(128),
  iat: z.int().positive(),
  exp: z.int().positive(),
  csrf: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
});

export interface SessionOptions {
  minutes: number;
  secureCookies: SecureCookies;
  /** A clock for tests (ms since the epoch). */
  now?: () => number;
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Portal sessions: a signed cookie (koa's keys) with a random id, the login, when it started and
 * expires, and a CSRF token. Nothing is stored per session on this web host: what ends a session
 * early (a sign-out, a password change, a disabled customer) is kept by the internal-db, which the
 * viewer asks on every request (session.check), so every web host and a restarted one agree.
 */
export class Sessions {
  readonly #options: SessionOptions;
  readonly #now: () => number;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /** The request's session cookie: signature verified, not expired (whether it was ended early is the internal-db's to say). */
  read(ctx: WebContext): Session | undefined {
    const value = readSigned(ctx, SESSION_COOKIE, this.#options.secureCookies);
    if (value === undefined) return undefined;
    const session = decode(value);
    if (!session || session.expiresAt <= this.#now()) return undefined;
    return session;
  }

  /** True when the request carries a session cookie at all (valid or not). */
  offered(ctx: WebContext): boolean {
    return ctx.cookies.get(SESSION_COOKIE, { signed: false }) !== undefined;
  }

  start(ctx: WebContext, login: string): Session {
    const startedAt = this.#now();
    const session: Session = { sid: randomToken(), login, startedAt, expiresAt: startedAt + this.#options.minutes * 60_000, csrf: randomToken() };
    const cookie = { v: 2, sid: session.sid, login, iat: startedAt, exp: session.expiresAt, csrf: session.csrf };
    const value = Buffer.from(JSON.stringify(cookie)).toString('base64url');
    setSigned(ctx, SESSION_COOKIE, value, this.#options.secureCookies, this.#options.minutes * 60_000);
    return session;
  }

  /** Clears the session cookie (the caller ends the session itself with the internal-db). */
  clear(ctx: WebContext): void {
    clearCookie(ctx, SESSION_COOKIE, this.#options.secureCookies);
  }
}

function decode(value: string): Session | undefined {
  try {
    const parsed = stored.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
    if (!parsed.success) return undefined;
    return { sid: parsed.data.sid, login: parsed.data.login, startedAt: parsed.data.iat, expiresAt: parsed.data.exp, csrf: parsed.data.csrf };
  } catch {
    return undefined;
  }
}
