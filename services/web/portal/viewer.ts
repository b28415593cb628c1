import { customerGet } from '../../../lib/contracts/internal-db/index.js';
import { isError } from '../../../lib/errors/index.js';
import { WebErrors } from '../errors.js';
import type { WebContext } from '../http/context.js';
import type { InternalDbLink } from '../internal-db-link.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { Viewer } from './layout.js';
import type { Session, Sessions } from './session.js';

export interface SignedIn {
  session: Session;
  viewer: Viewer;
}

/**
 * The signed-in customer of this request, or undefined. The session cookie must verify and be
 * live; the customer is then asked of the internal-db each time, so a disabled or deleted customer
 * is signed out at the next request. Sets ctx.state.principal.
 */
export async function signedIn(ctx: WebContext, sessions: Sessions, db: InternalDbLink, metrics: WebMetrics): Promise<SignedIn | undefined> {
  const session = sessions.read(ctx);
  if (!session) {
    if (sessions.offered(ctx)) metrics.auth('session', 'refused');
    return undefined;
  }
  let customer: { login: string; name: string; disabled: boolean };
  try {
    customer = await db.ask(customerGet, { login: session.login });
  } catch (err) {
    if (isError(err, WebErrors.NOT_FOUND) || isError(err, WebErrors.INVALID_INPUT)) customer = { login: session.login, name: '', disabled: true };
    else {
      metrics.auth('session', 'unavailable');
      throw err;
    }
  }
  if (customer.disabled) {
    metrics.auth('session', 'refused');
    sessions.end(ctx, session);
    return undefined;
  }
  metrics.auth('session', 'ok');
  ctx.state.principal = { kind: 'customer', customer: session.login, via: 'session', label: `session:customer:${session.login}` };
  return { session, viewer: { login: session.login, name: customer.name, csrf: session.csrf } };
}
