import type { Logger } from '../../../lib/log/logger.js';
import type { Fulfillment } from '../fulfillment.js';
import type { InternalDbAsk } from '../internal-db-ask.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { SigninLimiter } from './rate-limit.js';
import type { SessionChecks } from './session-checks.js';
import type { Sessions } from './session.js';

/** What the portal needs of the web host. */
export interface PortalDeps {
  db: InternalDbAsk;
  fulfillment: Fulfillment;
  /** The internal-db's answers about portal sessions, remembered until the change feed says otherwise. */
  sessionChecks: SessionChecks;
  metrics: WebMetrics;
  log: Logger;
  /** Keys that sign session cookies, newest first (koa's app.keys is set from them too). */
  sessionKeys: readonly string[];
  sessionMinutes: number;
  secureCookies: 'auto' | 'always' | 'never';
  loginFailuresPerAddress: number;
  loginFailuresPerLogin: number;
  loginMaxDelayMs: number;
  loginWindowSeconds: number;
  maxFormBytes: number;
  /** The sign-in limits to use; absent: a LoginLimiter of this process (from the login* fields). */
  limiter?: SigninLimiter;
}

/** What the portal's routes share: the deps, the sessions, the sign-in limiter. */
export interface PortalKit {
  deps: PortalDeps;
  sessions: Sessions;
  limiter: SigninLimiter;
}
