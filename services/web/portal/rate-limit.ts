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

/** A sign-in whose password is about to be checked: its failure is counted already. */
export interface SigninAttempt {
  /** How long to hold the sign-in back before its password is checked, in ms. */
  readonly delayMs: number;
  /** The password was right: the failure counted up front is given back. */
  succeeded(): void;
  /** The password could not be checked (the internal-db is unavailable): the failure is given back too. */
  cancel(): void;
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
 * `reserve` counts the failure before the password is checked and the attempt gives it back when
 * the password was right: sign-ins sent at the same time cannot outrun the limits (at most
 * `failuresPerAddress` of them from one address reach the password check), and their delays grow
 * with each one.
 */
export class LoginLimiter {
  /** Failures (counted and reserved) in the current window, by address group and by login; an entry lives one window from its first failure. */
  readonly #byAddress: LRUCache<string, number>;
  readonly #byLogin: LRUCache<string, number>;
  readonly #limits: LoginLimits;

  /** `now`: a clock for tests (ms; see cacheClock). */
  constructor(limits: LoginLimits, now?: () => number) {
    this.#limits = limits;
    const options = { max: limits.maxTracked ?? MAX_TRACKED, ttl: limits.windowSeconds * 1000, noUpdateTTL: true, ...cacheClock(now) };
    this.#byAddress = new LRUCache(options);
    this.#byLogin = new LRUCache(options);
  }

  /**
   * Before a password is checked: counts a failure for the address and the login, and answers how
   * long to hold the sign-in back. Throws ERR_RATE_LIMITED when the address has no failure left.
   */
  reserve(address: string, login: string): SigninAttempt {
    const byAddress = addressGroup(address);
    const byLogin = loginKey(login);
    const failures = this.#byAddress.get(byAddress) ?? 0;
    if (failures >= this.#limits.failuresPerAddress) {
      const retryAfterSeconds = Math.max(1, Math.ceil(this.#byAddress.getRemainingTTL(byAddress) / 1000));
      throw WebErrors.RATE_LIMITED(`Too many failed sign-ins from this address. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
    }
    const loginFailures = this.#byLogin.get(byLogin) ?? 0;
    this.#count(this.#byAddress, byAddress, +1);
    this.#count(this.#byLogin, byLogin, +1);
    let given = false;
    const giveBack = () => {
      if (given) return;
      given = true;
      this.#count(this.#byAddress, byAddress, -1);
      this.#count(this.#byLogin, byLogin, -1);
    };
    return { delayMs: this.delayFor(loginFailures), succeeded: giveBack, cancel: giveBack };
  }

  /** The delay of a sign-in for a login that has had `failures` failures in the window. */
  delayFor(failures: number): number {
    const over = failures - this.#limits.failuresPerLogin;
    if (over < 0) return 0;
    return Math.min(this.#limits.maxDelayMs, FIRST_DELAY_MS * 2 ** Math.min(over, 30));
  }

  /** One more (or one less) failure; the window keeps its start (noUpdateTTL). */
  #count(failuresBy: LRUCache<string, number>, key: string, by: 1 | -1): void {
    const failures = failuresBy.get(key);
    if (by < 0 && failures === undefined) return; // the window ended meanwhile
    const next = (failures ?? 0) + by;
    if (next <= 0) failuresBy.delete(key);
    else failuresBy.set(key, next);
  }
}

function loginKey(login: string): string {
  return login.trim().toLowerCase();
}
