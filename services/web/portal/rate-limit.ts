import { LRUCache } from 'lru-cache';
import { addressGroup } from '../../../lib/address-group.js';
import { cacheClock } from '../../../lib/cache-clock.js';
import { WebErrors } from '../errors.js';

/** The default of LoginLimits.maxTracked. */
const MAX_TRACKED = 100_000;
/** The first delay of a login past its free failures; each further failure doubles it (up to maxDelayMs). */
const FIRST_DELAY_MS = 250;

export interface LoginLimits {
  /** Failed sign-ins one client address (an IPv6 client: its /64) may make within the window; beyond, 429. */
  failuresPerAddress: number;
  /** Failed sign-ins for one login within the window before its sign-ins are held back. */
  failuresPerLogin: number;
  /** The longest a sign-in is held back, in ms. */
  maxDelayMs: number;
  windowSeconds: number;
  /** Addresses and logins tracked at most, each (beyond, the least recently seen is forgotten). */
  maxTracked?: number;
}

/** A sign-in whose password is about to be checked: it counts against the limits until it is decided. */
export interface SigninAttempt {
  /** How long to hold the sign-in back before its password is checked, in ms. */
  readonly delayMs: number;
  /** The password was wrong: a failure for the address and the login. */
  failed(): void;
  /** The password was right: nothing is counted. */
  succeeded(): void;
  /** The password could not be checked (the internal-db is unavailable): nothing is counted. */
  cancel(): void;
}

/** What the portal asks of the sign-in limits (a LoginLimiter here, or the primary's through a worker's RemoteLoginLimiter). */
export interface SigninLimiter {
  reserve(address: string, login: string): Promise<SigninAttempt>;
}

/** Sign-ins of one address group whose password is being checked, and those waiting for one of them. */
interface InFlight {
  count: number;
  waiters: (() => void)[];
}

/**
 * Sign-in limits, in a fixed window that starts at the first failure:
 *
 * - **per client address**: at most `failuresPerAddress` failures; beyond, ERR_RATE_LIMITED (429,
 *   Retry-After) before any password is checked.
 * - **per login**: never a lockout (anyone could lock a customer out by failing on purpose), but a
 *   delay before the password is checked once the login has had `failuresPerLogin` failures from
 *   anywhere: 250 ms, doubling with each further failure, at most `maxDelayMs`. The customer signing
 *   in from their own address waits that long, then gets in.
 *
 * A sign-in is counted before its password is checked (`reserve`) and until it is decided: as a
 * failure if the password was wrong, given back if it was right. While the address's failures and
 * its sign-ins in flight fill its limit, a further sign-in waits for one of those in flight to be
 * decided: so sign-ins sent at the same time cannot outrun the limit (at most `failuresPerAddress`
 * of them reach the password check), and right ones sent at once from one address (an office
 * behind one NAT) all get in. The delays grow with each sign-in in flight too.
 */
export class LoginLimiter implements SigninLimiter {
  /** Failures in the current window, by address group and by login; an entry lives one window from its first failure. */
  readonly #byAddress: LRUCache<string, number>;
  readonly #byLogin: LRUCache<string, number>;
  /** Sign-ins being checked, by address group and by login (entries only while some are). */
  readonly #inFlight = new Map<string, InFlight>();
  readonly #loginsInFlight = new Map<string, number>();
  readonly #limits: LoginLimits;

  /** `now`: a clock for tests (ms; see cacheClock). */
  constructor(limits: LoginLimits, now?: () => number) {
    this.#limits = limits;
    const options = { max: limits.maxTracked ?? MAX_TRACKED, ttl: limits.windowSeconds * 1000, noUpdateTTL: true, ...cacheClock(now) };
    this.#byAddress = new LRUCache(options);
    this.#byLogin = new LRUCache(options);
  }

  /**
   * Before a password is checked: counts the sign-in against the address and the login, and
   * answers how long to hold it back. Rejects with ERR_RATE_LIMITED when the address has no failure
   * left; waits while its sign-ins in flight would fill what is left.
   */
  async reserve(address: string, login: string): Promise<SigninAttempt> {
    const group = addressGroup(address);
    const byLogin = loginKey(login);
    for (;;) {
      const failures = this.#byAddress.get(group) ?? 0;
      if (failures >= this.#limits.failuresPerAddress) {
        const retryAfterSeconds = Math.max(1, Math.ceil(this.#byAddress.getRemainingTTL(group) / 1000));
        throw WebErrors.RATE_LIMITED(`Too many failed sign-ins from this address. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
      }
      const flight = this.#inFlight.get(group);
      if (!flight || failures + flight.count < this.#limits.failuresPerAddress) break;
      await new Promise<void>((resolve) => flight.waiters.push(resolve));
    }
    const loginFailures = (this.#byLogin.get(byLogin) ?? 0) + (this.#loginsInFlight.get(byLogin) ?? 0);
    const flight = this.#inFlight.get(group) ?? { count: 0, waiters: [] };
    flight.count++;
    this.#inFlight.set(group, flight);
    this.#loginsInFlight.set(byLogin, (this.#loginsInFlight.get(byLogin) ?? 0) + 1);
    let decided = false;
    const decide = (failed: boolean) => {
      if (decided) return;
      decided = true;
      if (failed) {
        this.#count(this.#byAddress, group);
        this.#count(this.#byLogin, byLogin);
      }
      const left = (this.#loginsInFlight.get(byLogin) ?? 1) - 1;
      if (left > 0) this.#loginsInFlight.set(byLogin, left);
      else this.#loginsInFlight.delete(byLogin);
      flight.count--;
      if (flight.count === 0) this.#inFlight.delete(group);
      for (const wake of flight.waiters.splice(0)) wake();
    };
    return { delayMs: this.delayFor(loginFailures), failed: () => decide(true), succeeded: () => decide(false), cancel: () => decide(false) };
  }

  /** The delay of a sign-in for a login that has had `failures` failures (counting those in flight) in the window. */
  delayFor(failures: number): number {
    const over = failures - this.#limits.failuresPerLogin;
    if (over < 0) return 0;
    return Math.min(this.#limits.maxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(over, 30));
  }

  /** One more failure; the window keeps its start (noUpdateTTL). */
  #count(failuresBy: LRUCache<string, number>, key: string): void {
    failuresBy.set(key, (failuresBy.get(key) ?? 0) + 1);
  }
}

function loginKey(login: string): string {
  return login.trim().toLowerCase();
}
