import { WebErrors } from '../errors.js';
import { ExpiringMap } from '../expiring-map.js';

export interface LoginLimits {
  failuresPerAddress: number;
  failuresPerLogin: number;
  windowSeconds: number;
  /** Addresses and logins tracked at most, each (default 100 000). */
  maxTracked?: number;
}

/**
 * Sign-in rate limits: failed sign-ins are counted per client address and per login in a fixed
 * window that starts at the first failure. `check` runs before the password is checked, so a
 * limited address or login costs no scrypt; it throws ERR_RATE_LIMITED (429, Retry-After).
 */
export class LoginLimiter {
  readonly #byAddress: ExpiringMap<number>;
  readonly #byLogin: ExpiringMap<number>;
  readonly #limits: LoginLimits;
  readonly #now: () => number;

  constructor(limits: LoginLimits, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
    this.#byAddress = new ExpiringMap(limits.maxTracked ?? 100_000, now);
    this.#byLogin = new ExpiringMap(limits.maxTracked ?? 100_000, now);
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

  #checkOne(map: ExpiringMap<number>, key: string, limit: number, what: string): void {
    const failures = map.get(key) ?? 0;
    if (failures < limit) return;
    const retryAfterSeconds = Math.max(1, Math.ceil(((map.expiresAt(key) ?? this.#now()) - this.#now()) / 1000));
    throw WebErrors.RATE_LIMITED(`Too many failed sign-ins ${what}. Try again in ${retryAfterSeconds} seconds.`, { retryAfterSeconds });
  }

  #count(map: ExpiringMap<number>, key: string): void {
    const failures = map.get(key);
    if (failures === undefined) map.set(key, 1, this.#now() + this.#limits.windowSeconds * 1000);
    else map.set(key, failures + 1, map.expiresAt(key)!);
  }
}

function loginKey(login: string): string {
  return login.trim().toLowerCase();
}
