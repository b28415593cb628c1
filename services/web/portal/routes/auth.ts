import { setTimeout as delay } from 'node:timers/promises';
import { authCheck, sessionEnd } from '../../../../lib/contracts/internal-db/index.js';
import { isError } from '../../../../lib/errors/index.js';
import { customerActor } from '../../auth/actor.js';
import { WebErrors } from '../../errors.js';
import { readQuery } from '../../http/body.js';
import type { WebContext, WebRouter } from '../../http/context.js';
import { clearSigninToken, signinCookieToken, signinToken } from '../csrf.js';
import { csrfOnlyForm, readPostedForm, signinForm, signinQuery } from '../forms.js';
import type { PortalKit } from '../kit.js';
import { afterForm, portalRoute, seeOther, sendPage } from '../page.js';
import { signinPage } from '../pages/signin.js';

/** True for what auth.check answers a sign-in that does not succeed (a malformed login is one too). */
const refused = (err: unknown) => isError(err, WebErrors.AUTH_REFUSED) || isError(err, WebErrors.INVALID_INPUT);

/** GET /, GET and POST /signin, POST /signout. */
export function authRoutes(router: WebRouter, kit: PortalKit): void {
  const { deps, sessions, limiter } = kit;
  const mode = deps.secureCookies;

  router.get(
    '/',
    portalRoute('/', (ctx) => seeOther(ctx, sessions.read(ctx) ? '/downloads' : '/signin')),
  );
  // Browsers ask for it on every site; nothing to show, nothing to log as a 404.
  router.get(
    '/favicon.ico',
    portalRoute('/favicon.ico', (ctx) => {
      ctx.set('Cache-Control', 'public, max-age=86400');
      ctx.status = 204;
    }),
  );

  router.get(
    '/signin',
    portalRoute('/signin', (ctx) => {
      const query = readQuery(ctx, signinQuery);
      if (sessions.read(ctx)) return seeOther(ctx, query.next ?? '/downloads');
      sendPage(ctx, signinPage({ csrf: signinToken(ctx, mode), next: query.next, notice: query.signedOut ? 'You are signed out.' : undefined }));
    }),
  );

  router.post(
    '/signin',
    portalRoute('/signin', async (ctx) => {
      const form = await readPostedForm(ctx, signinForm, deps.maxFormBytes, signinCookieToken(ctx, mode), 'the sign-in form expired, or cookies are off');
      const address = ctx.ip;
      let attempt;
      try {
        attempt = await limiter.reserve(address, form.login); // counted before the check, until it is decided
      } catch (err) {
        deps.metrics.auth('password', 'rate_limited');
        ctx.state.log.warn('portal sign-in rate limited', { login: form.login, address });
        throw err;
      }
      let customer: { login: string };
      try {
        if (attempt.delayMs > 0) {
          ctx.state.log.info('portal sign-in held back after failed sign-ins for this login', { login: form.login, address, delayMs: attempt.delayMs });
          await delay(attempt.delayMs);
        }
        try {
          ({ customer } = await deps.db.ask(authCheck, { login: form.login, password: form.password, protocol: 'http', clientAddress: address }));
        } catch (err) {
          if (!refused(err)) {
            deps.metrics.auth('password', 'unavailable'); // not counted: not the client's failure
            throw err;
          }
          attempt.failed();
          deps.metrics.auth('password', 'refused');
          ctx.state.log.info('portal sign-in refused', { login: form.login, address });
          return sendPage(
            ctx,
            signinPage({ csrf: signinToken(ctx, mode), next: form.next, login: form.login, error: 'The login or the password is not correct.' }),
            422,
          );
        }
        attempt.succeeded();
      } finally {
        attempt.cancel(); // whatever happened, it is in flight no more (no-op once decided)
      }
      deps.metrics.auth('password', 'ok');
      clearSigninToken(ctx, mode);
      sessions.start(ctx, customer.login);
      ctx.state.log.info('portal sign-in', { login: customer.login, address });
      seeOther(ctx, afterForm(form.next ?? '/downloads'));
    }),
  );

  router.post(
    '/signout',
    portalRoute('/signout', async (ctx: WebContext) => {
      const session = sessions.read(ctx);
      if (session) {
        await readPostedForm(ctx, csrfOnlyForm, deps.maxFormBytes, session.csrf, 'sign-out');
        // Ended where every web host looks (a copied cookie stops working everywhere, restarts included).
        await deps.db
          .ask(sessionEnd, {
            login: session.login,
            sid: session.sid,
            expiresAt: new Date(session.expiresAt).toISOString(),
            by: customerActor(session.login, ctx),
          })
          .catch((err: unknown) => {
            if (!isError(err, WebErrors.NOT_FOUND)) throw err; // no such customer now: nothing to end
          });
      }
      if (session) deps.sessionChecks.forgetCustomer(session.login); // here at once; elsewhere by the change feed
      sessions.clear(ctx);
      seeOther(ctx, '/signin?signedOut=1');
    }),
  );
}
