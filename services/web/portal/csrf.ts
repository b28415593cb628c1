import { timingSafeEqual } from 'node:crypto';
import { WebErrors } from '../errors.js';
import type { WebContext } from '../http/context.js';
import { readSigned, setSigned, clearCookie, type SecureCookies } from './cookies.js';
import { randomToken } from './session.js';

/** The sign-in form's double-submit cookie (before there is a session to hold a token). */
export const SIGNIN_COOKIE = 'ffs_signin';
const SIGNIN_COOKIE_MS = 2 * 3600_000;

/**
 * A POST must come from our own pages: when the browser says where it comes from (Sec-Fetch-Site,
 * Origin), that must be this site. Hosts are compared (not schemes), so TLS ended at a proxy
 * without trustProxy does not refuse every form. Old clients send neither; the token still holds.
 */
export function checkOrigin(ctx: WebContext): void {
  const site = ctx.get('sec-fetch-site');
  if (site !== '' && site !== 'same-origin' && site !== 'none') throw WebErrors.CSRF(`This form was sent from another site (${site}); nothing was changed.`);
  const origin = ctx.get('origin');
  if (origin === '') return;
  let host: string | undefined;
  try {
    host = origin === 'null' ? undefined : new URL(origin).host;
  } catch {
    host = undefined;
  }
  if (host === undefined || host.toLowerCase() !== ctx.host.toLowerCase()) throw WebErrors.CSRF('This form was sent from another origin; nothing was changed.');
}

/** Throws ERR_CSRF unless `given` is the expected token (compared in constant time). */
export function checkToken(expected: string | undefined, given: string | undefined, hint: string): void {
  if (expected === undefined || given === undefined || !sameToken(expected, given))
    throw WebErrors.CSRF(`The form's security token is missing or wrong (${hint}); nothing was changed. Reload the page and try again.`);
}

function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** The sign-in form's token: the one in the visitor's sign-in cookie, or a new one (cookie set). */
export function signinToken(ctx: WebContext, mode: SecureCookies): string {
  const existing = readSigned(ctx, SIGNIN_COOKIE, mode);
  if (existing !== undefined && /^[A-Za-z0-9_-]{22,64}$/.test(existing)) return existing;
  const token = randomToken();
  setSigned(ctx, SIGNIN_COOKIE, token, mode, SIGNIN_COOKIE_MS);
  return token;
}

export function signinCookieToken(ctx: WebContext, mode: SecureCookies): string | undefined {
  return readSigned(ctx, SIGNIN_COOKIE, mode);
}

export function clearSigninToken(ctx: WebContext, mode: SecureCookies): void {
  clearCookie(ctx, SIGNIN_COOKIE, mode);
}
