import Router from 'koa-router';
import type { HtmlErrorPage } from '../http/error-edge.js';
import type { WebRouter, WebState } from '../http/context.js';
import type { PortalDeps, PortalKit } from './kit.js';
import { pageHeaders } from './page.js';
import { errorPageHtml } from './pages/error.js';
import { LoginLimiter } from './rate-limit.js';
import { authRoutes } from './routes/auth.js';
import { downloadRoutes } from './routes/downloads.js';
import { eulaRoutes } from './routes/eula.js';
import { Sessions } from './session.js';

export type { PortalDeps } from './kit.js';

export interface Portal {
  router: WebRouter;
  errorPage: HtmlErrorPage;
}

/**
 * The customer portal: server-rendered HTML that works without JavaScript. Sign-in and out
 * (signed-cookie sessions, CSRF tokens on every form, sign-in rate limits), "My downloads", the
 * EULA gate, HTTP downloads (303 to the file host with a signed ticket) and FTP/SFTP staging.
 */
export function createPortal(deps: PortalDeps): Portal {
  if (deps.sessionKeys.length === 0) throw new RangeError('the portal needs at least one session key');
  const kit: PortalKit = {
    deps,
    sessions: new Sessions({ minutes: deps.sessionMinutes, secureCookies: deps.secureCookies }),
    limiter:
      deps.limiter ??
      new LoginLimiter({
        failuresPerAddress: deps.loginFailuresPerAddress,
        failuresPerLogin: deps.loginFailuresPerLogin,
        maxDelayMs: deps.loginMaxDelayMs,
        windowSeconds: deps.loginWindowSeconds,
      }),
  };
  const router = new Router<WebState>();
  authRoutes(router, kit);
  downloadRoutes(router, kit);
  eulaRoutes(router, kit);
  return {
    router,
    errorPage: (ctx, answer) => {
      pageHeaders(ctx);
      return errorPageHtml(answer).text;
    },
  };
}
