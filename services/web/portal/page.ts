import type { WebContext, WebMiddleware } from '../http/context.js';
import type { Html } from './html.js';
import { CONTENT_SECURITY_POLICY } from './layout.js';

/**
 * A portal handler: its route template is recorded (metrics, logs) and its errors are answered as
 * HTML pages by the error edge (the portal's errorPage).
 */
export function portalRoute(route: string, handler: (ctx: WebContext) => Promise<void> | void): WebMiddleware {
  return async (ctx) => {
    ctx.state.route = route;
    ctx.state.errorFormat = 'html';
    pageHeaders(ctx);
    await handler(ctx);
  };
}

/** Every portal answer: the page policy, and no caching (pages carry customer data). */
export function pageHeaders(ctx: WebContext): void {
  ctx.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  ctx.set('Cache-Control', 'no-store');
}

export function sendPage(ctx: WebContext, page: Html, status = 200): void {
  ctx.status = status;
  ctx.type = 'text/html; charset=utf-8';
  ctx.body = page.text;
}

/** 303 See Other: after a form, and to places a GET must go instead (sign-in, a EULA, a file host). */
export function seeOther(ctx: WebContext, location: string): void {
  ctx.status = 303;
  ctx.set('Location', location);
  ctx.type = 'text/plain; charset=utf-8';
  ctx.body = `See ${location}\n`;
}

/**
 * A local path to return to: "/..." but not "//host" or "/\\host" (another site); visible ASCII
 * only (it goes into a Location header, where anything else cannot be written: a browser sends
 * other characters percent-encoded).
 */
export function isLocalPath(path: string): boolean {
  return /^\/(?![/\\])[!-[\]-~]*$/.test(path) && path.length <= 2048;
}

/**
 * Where a form sends the browser next. A download is not redirected to directly: the file host
 * is another origin, and browsers apply the form's CSP form-action to every redirect after a form
 * (it would block the file host). "My downloads" starts it instead, by a refresh (a new navigation).
 */
export function afterForm(next: string): string {
  const download = /^\/download\/([1-9][0-9]{0,15})$/.exec(next);
  return download ? `/downloads?download=${download[1]}` : next;
}

/** `/signin?next=<the request's own path>`. */
export function signinUrlFor(ctx: WebContext): string {
  return `/signin?next=${encodeURIComponent(ctx.originalUrl)}`;
}
