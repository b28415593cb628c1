import { isError } from '../../../lib/errors/index.js';
import { WebErrors } from '../errors.js';
import type { WebContext } from '../http/context.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { Viewer } from './layout.js';
import type { SessionChecks } from './session-checks.js';
import type { Session, Sessions } from './session.js';

export interface SignedIn {
  session: Session;
  viewer: Viewer;
}

/**
 * The signed-in customer of this request, or undefined. The session cookie must verify and be
 * unexpired; the internal-db then checks the session (session.check; the answer is remembered
 * until the change feed says the customer signed out, changed its password or was disabled), so a
 * session signed out anywhere, a changed password or a disabled or deleted customer signs it out at
 * the next request, on every web host, within a second. Sets ctx.state.principal.
 */
export async function signedIn(ctx: WebContext, sessions: Sessions, checks: SessionChecks, metrics: WebMetrics): Promise<SignedIn | undefined> {
  const session = sessions.read(ctx);
  if (!session) {
    if (sessions.offered(ctx)) metrics.auth('session', 'refused');
    return undefined;
  }
  let customer: { login: string; name: string };
  try {
    customer = await checks.check(session);
  } catch (err) {
    if (!isError(err, WebErrors.AUTH_REFUSED) && !isError(err, WebErrors.INVALID_INPUT)) {
      metrics.auth('session', 'unavailable');
      throw err;
    }
    metrics.auth('session', 'refused');
    sessions.clear(ctx);
    return undefined;
  }
  metrics.auth('session', 'ok');
  ctx.state.principal = { kind: 'customer', customer: session.login, via: 'session', label: `session:customer:${session.login}` };
  return { session, viewer: { login: session.login, name: customer.name, csrf: session.csrf } };
}
