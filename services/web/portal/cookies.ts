import type { SetOption } from 'cookies';
import type { WebContext } from '../http/context.js';

export type SecureCookies = 'auto' | 'always' | 'never';

/** Hosts a browser counts as a secure context over plain HTTP (it keeps Secure cookies from them). */
export function isLoopbackHost(hostname: string): boolean {
  const h = hostname.toLowerCase().replace(/^\[(.*)\]$/, '$1');
  return h === 'localhost' || h.endsWith('.localhost') || /^127(\.\d{1,3}){3}$/.test(h) || h === '::1';
}

/** Whether cookies get the Secure attribute: always, never, or (auto) over HTTPS and on loopback. */
export function wantsSecure(ctx: WebContext, mode: SecureCookies): boolean {
  if (mode !== 'auto') return mode === 'always';
  return ctx.secure || isLoopbackHost(ctx.hostname);
}

/**
 * The attributes of every portal cookie: signed (koa's app.keys), HttpOnly, SameSite=Lax, path /,
 * Secure per `mode`. koa refuses to send a Secure cookie on a connection it does not see as
 * encrypted (plain HTTP on loopback, or TLS ended by a proxy without trustProxy), so this tells it
 * to when we decided Secure.
 */
export function cookieOptions(ctx: WebContext, mode: SecureCookies, maxAgeMs?: number): SetOption {
  const secure = wantsSecure(ctx, mode);
  if (secure) ctx.cookies.secure = true;
  const options: SetOption = { signed: true, httpOnly: true, sameSite: 'lax', secure, path: '/', overwrite: true };
  if (maxAgeMs !== undefined) options.maxAge = maxAgeMs;
  return options;
}

/** A signed cookie's value (undefined when absent or its signature does not verify). */
export function readSigned(ctx: WebContext, name: string, mode: SecureCookies): string | undefined {
  if (wantsSecure(ctx, mode)) ctx.cookies.secure = true; // a re-signing under a newer key sets the .sig cookie
  const value = ctx.cookies.get(name, { signed: true });
  return value === undefined || value === '' ? undefined : value;
}

export function setSigned(ctx: WebContext, name: string, value: string, mode: SecureCookies, maxAgeMs: number): void {
  ctx.cookies.set(name, value, cookieOptions(ctx, mode, maxAgeMs));
}

export function clearCookie(ctx: WebContext, name: string, mode: SecureCookies): void {
  ctx.cookies.set(name, null, cookieOptions(ctx, mode));
}
