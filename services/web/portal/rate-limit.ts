import { LRUCache } from 'lru-cache';
import { cacheClock } from '../../../lib/cache-clock.js';
import { WebErrors } from '../errors.js';

/** The default of LoginLimits.maxTracked. */
const MAX_TRACKED = 100_000;

export interface LoginLimits {
  failuresPerAddress: number;
  failuresPerLogin: number;
  windowSeconds: number;
  /** Addresses and logins tracked at most, each (beyond, the least recently seen is forgotten). */
  maxTracked?: number;
}

/**
 * Sign-in rate limits: failed sign-ins are counted per client address and per login in a fixed
 * window that starts at the first failure. `check` runs before the password is checked, so a
 * limited address or login costs no scrypt; it throws ERR_RATE_LIMITED (429, Retry-After).
 */
export class LoginLimiter {
  /** Failures in the current window, by address and by login; an entry lives one window from its first failure. */
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

  check(address: string, login: string): void {
    this.#checkOne(this.#byAddress, address, this.#limits.failuresPerAddress, 'from this address');
    this.#checkOne(this.#byLogin, loginKey(login), this.#limits.failuresPerLogin, 'for this login');
  }

  failed(address: string, login: string): void {
    this.#count(this.#byAddress, address);
    this.#count(this.#byLogin, loginKey(login));
  }

  /** A successful sign-in clears the login's failures (not the address's). */
  succeeded(login: string): void {
    this.#byLogin.delete(loginKey(login));
  }

  #checkOne(failuresBy: LRUCache<string, number>, key: string, limit: number, what: string): void {
    const failures = failuresBy.get(key) ?? 0;
    if (failures < limit) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(failuresBy.getRemainingTTL(key) / 1000));
    throw WebErrors.RATE_LIMITED(`Too many failed sign-ins ${what}. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
  }

  /** One more failure; the window keeps its start (noUpdateTTL). */
  #count(failuresBy: LRUCache<string, number>, key: string): void {
    failuresBy.set(key, (failuresBy.get(key) ?? 0) + 1);
  }
}

function loginKey(login: string): string {
  return login.trim().toLowerCase();
}
