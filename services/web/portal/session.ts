import { randomBytes } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { z } from 'zod';
import { cacheClock } from '../../../lib/cache-clock.js';
import type { WebContext } from '../http/context.js';
import { clearCookie, readSigned, setSigned, type SecureCookies } from './cookies.js';

export const SESSION_COOKIE = 'ffs_session';

/** The default of SessionOptions.maxEnded. */
const MAX_ENDED = 100_000;

/** What the session cookie holds (signed, not encrypted: nothing secret from its owner). */
export interface Session {
  /** Random; remembered as ended at sign-out. */
  sid: string;
  login: string;
  /** ms since the epoch. */
  expiresAt: number;
  /** The anti-forgery token of this session's forms. */
  csrf: string;
}

const stored = z.strictObject({
  v: z.literal(1),
  sid: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
  login: z.string().min(1).max(128),
  exp: z.int().positive(),
  csrf: z.string().regex(/^[A-Za-z0-9_-]{22,64}$/),
});

export interface SessionOptions {
  minutes: number;
  secureCookies: SecureCookies;
  /** Ended sessions remembered at most (beyond, the least recently seen are forgotten). */
  maxEnded?: number;
  /** A clock for tests (ms since the epoch; see cacheClock). */
  now?: () => number;
}

export function randomToken(): string {
  return randomBytes(24).toString('base64url');
}

/**
 * Stateless portal sessions: a signed cookie (koa's keys) with a random id, the login, the expiry
 * and a CSRF token. Nothing is stored per session on this web host except, after sign-out, the
 * ended session's id until its expiry, so a copied cookie stops working here.
 */
export class Sessions {
  readonly #options: SessionOptions;
  /** Ended session ids, each until its session's expiry. */
  readonly #ended: LRUCache<string, true>;
  readonly #now: () => number;

  constructor(options: SessionOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
    this.#ended = new LRUCache({ max: options.maxEnded ?? MAX_ENDED, ...cacheClock(options.now) });
  }

  /** The request's live session: signature verified, not expired, not ended. */
  read(ctx: WebContext): Session | undefined {
    const value = readSigned(ctx, SESSION_COOKIE, this.#options.secureCookies);
    if (value === undefined) return undefined;
    const session = decode(value);
    if (!session || session.expiresAt <= this.#now() || this.#ended.get(session.sid)) return undefined;
    return session;
  }

  /** True when the request carries a session cookie at all (valid or not). */
  offered(ctx: WebContext): boolean {
    return ctx.cookies.get(SESSION_COOKIE, { signed: false }) !== undefined;
  }

  start(ctx: WebContext, login: string): Session {
    const session: Session = { sid: randomToken(), login, expiresAt: this.#now() + this.#options.minutes * 60_000, csrf: randomToken() };
    const value = Buffer.from(JSON.stringify({ v: 1, sid: session.sid, login, exp: session.expiresAt, csrf: session.csrf })).toString('base64url');
    setSigned(ctx, SESSION_COOKIE, value, this.#options.secureCookies, this.#options.minutes * 60_000);
    return session;
  }

  end(ctx: WebContext, session: Session | undefined): void {
    const left = (session?.expiresAt ?? 0) - this.#now();
    if (session && left > 0) this.#ended.set(session.sid, true, { ttl: left });
    clearCookie(ctx, SESSION_COOKIE, this.#options.secureCookies);
  }
}

function decode(value: string): Session | undefined {
  try {
    const parsed = stored.safeParse(JSON.parse(Buffer.from(value, 'base64url').toString('utf8')));
    if (!parsed.success) return undefined;
    return { sid: parsed.data.sid, login: parsed.data.login, expiresAt: parsed.data.exp, csrf: parsed.data.csrf };
  } catch {
    return undefined;
  }
}
