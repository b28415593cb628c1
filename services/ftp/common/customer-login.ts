import { mkdir } from 'node:fs/promises';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { authCheck, authKeyCheck } from '../../../lib/contracts/internal-db/index.js';
import { LOGIN } from '../../../lib/contracts/names.js';
import type { RequestIn } from '../../../lib/contracts/operation.js';
import { isError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { AreaSync } from '../staging/area-sync.js';
import type { Stager } from '../staging/stager.js';
import type { Areas } from './areas.js';
import { SCORE, type Attempt, type Defender } from './defender.js';
import type { LoginCache } from './login-cache.js';
import type { AreaRoot } from './path-resolver.js';
import type { Admission, LoginProtocol, SessionLimits } from './session-limits.js';
import type { WebLink } from './web-link.js';

/**
 * A login as auth.check takes it: a password or an SSH public key (its algorithm name and its blob
 * in base64, as the internal-db stores it), over FTP or SFTP.
 */
export type LoginRequest = RequestIn<typeof authCheck> & { protocol: 'ftp' | 'sftp' };

/** An SSH public key offered for a login before it is used (no signature yet). */
export type KeyProbe = Omit<LoginRequest, 'password' | 'publicKey'> & { publicKey: NonNullable<LoginRequest['publicKey']> };

/**
 * What an SFTP server needs to know about its clients: whether a TCP connection may stay (banned?
 * over a limit?), whether a key is registered, whether a login is good, and which failures to
 * count. CustomerLogins is one; an SFTP worker process has a stand-in that asks the file host over
 * IPC.
 */
export interface LoginAuthority {
  /** At TCP accept: resolves with the connection's admission, or rejects (ERR_BANNED, ERR_TOO_MANY_SESSIONS). */
  admit(clientAddress: string): Promise<Admission>;
  /** Whether the key is registered for the login: no session is opened, nothing pruned, no failure counted. */
  keyRegistered(probe: KeyProbe): Promise<boolean>;
  login(request: LoginRequest): Promise<Session>;
  /** A failure the server itself saw (a bad key signature, too many attempts on one connection). */
  failed(clientAddress: string, score: number): void;
}

export interface Session {
  customer: string;
  name: string;
  root: AreaRoot;
  /** Ends the session's hold on the per-customer limit (idempotent). */
  end: () => void;
}

/**
 * Logins for FTP and SFTP, checked live: a login goes over the commlink to the web host, which
 * asks the internal-db (`auth.check`); the file host keeps no credentials. The reply's releases
 * prune the customer's area, so a revoked entitlement is gone at the next checked login. A success
 * is remembered for loginCacheSeconds (LoginCache; 0: never), and logins checked at the same time
 * share one check. Failed logins feed the defender, each reserving its failure before it is
 * checked (a success gives it back); a banned address is refused before anything is asked. When
 * the web host or the internal-db cannot be reached, the login fails with ERR_GATEWAY_UNAVAILABLE
 * (a temporary error) and nothing else is affected.
 */
export class CustomerLogins implements LoginAuthority {
  readonly #link: Pick<WebLink, 'ask'>;
  readonly #stager: Stager;
  readonly #areas: Areas;
  readonly #defender: Defender;
  readonly #limits: SessionLimits;
  readonly #log: Logger;
  readonly #cache: LoginCache;
  readonly #areaSync: AreaSync | undefined;
  readonly #syncWaitMs: number;

  constructor(options: {
    link: Pick<WebLink, 'ask'>;
    stager: Stager;
    /** Areas follow entitlements: a checked login syncs the area (absent: only pruned). */
    areaSync?: AreaSync;
    /** How long a login waits for its area's sync before the session starts anyway (ms). */
    syncWaitMs?: number;
    areas: Areas;
    defender: Defender;
    limits: SessionLimits;
    cache: LoginCache;
    log: Logger;
  }) {
    this.#cache = options.cache;
    this.#areaSync = options.areaSync;
    this.#syncWaitMs = options.syncWaitMs ?? 5000;
    this.#link = options.link;
    this.#stager = options.stager;
    this.#areas = options.areas;
    this.#defender = options.defender;
    this.#limits = options.limits;
    this.#log = options.log;
  }

  get defender(): Defender {
    return this.#defender;
  }

  get limits(): SessionLimits {
    return this.#limits;
  }

  /** At TCP accept: throws ERR_BANNED, or ERR_TOO_MANY_SESSIONS over the address's or the protocol's limit. */
  connect(clientAddress: string, protocol: LoginProtocol): Admission {
    this.checkBanned(clientAddress);
    return this.#limits.connect(clientAddress, protocol);
  }

  async admit(clientAddress: string): Promise<Admission> {
    return this.connect(clientAddress, 'sftp');
  }

  /**
   * A key offered without a signature: registered for the login or not. A remembered login with
   * this key answers at once; otherwise the internal-db is asked (`auth.keyCheck`). No session, no
   * prune, no defender score: clients offer their keys one after another.
   */
  async keyRegistered(probe: KeyProbe): Promise<boolean> {
    const { login, publicKey, protocol, clientAddress } = probe;
    this.checkBanned(clientAddress);
    if (!LOGIN.test(login)) return false;
    if (this.#cache.has(this.#cache.key(login, `key\u0000${publicKey.algorithm}\u0000${publicKey.key}`))) return true;
    try {
      return (await this.#link.ask(authKeyCheck, { login, publicKey, protocol, clientAddress })).registered;
    } catch (err) {
      if (isError(err, FileHostErrors.INVALID_INPUT)) return false; // a key no stored key can be (too long …)
      throw err;
    }
  }

  failed(clientAddress: string, score: number): void {
    if (this.#defender.fail(clientAddress, score)) this.#log.warn('address banned after repeated failed logins', { clientAddress });
  }

  /** Throws ERR_BANNED when the address is banned now. */
  checkBanned(clientAddress: string): void {
    const until = this.#defender.bannedUntil(clientAddress);
    if (until !== undefined) throw FileHostErrors.BANNED(`${clientAddress} is banned until ${new Date(until).toISOString()} after repeated failed logins`);
  }

  async login(request: LoginRequest): Promise<Session> {
    const { login, clientAddress, protocol } = request;
    this.checkBanned(clientAddress);
    if (!LOGIN.test(login) || (request.password === undefined && request.publicKey === undefined)) {
      this.#refused(clientAddress, login, protocol, SCORE.unknownLogin, 'malformed login');
    }
    const credential =
      request.password !== undefined ? `password\u0000${request.password}` : `key\u0000${request.publicKey!.algorithm}\u0000${request.publicKey!.key}`;
    // The failure is reserved before the check (waiting while reservations fill the threshold), so
    // logins checked at once cannot outrun it.
    const attempt = await this.#defender.attempt(clientAddress);
    if (!attempt) {
      this.checkBanned(clientAddress);
      throw FileHostErrors.BANNED(`${clientAddress} is banned after repeated failed logins`);
    }
    let who;
    let checked = false;
    try {
      who = await this.#cache.get(this.#cache.key(login, credential), () => {
        checked = true;
        return this.#check(request);
      });
    } catch (err) {
      if (isError(err, FileHostErrors.AUTH_REFUSED) || isError(err, FileHostErrors.INVALID_INPUT))
        this.#refused(clientAddress, login, protocol, SCORE.wrongPassword, err.code, attempt);
      attempt.cancel();
      throw err; // ERR_GATEWAY_UNAVAILABLE and the unexpected: temporary, not the client's fault
    }
    attempt.cancel();
    await this.#synced(who.customer, checked);
    const end = this.#limits.login(who.customer);
    try {
      return { customer: who.customer, name: who.name, root: this.#areas.rootOf(who.customer), end };
    } catch (err) {
      end();
      throw err;
    }
  }

  /**
   * Areas follow entitlements: a login that was checked through the chain (not remembered) makes
   * the area hold every release the customer may have now; any login waits for a sync of its
   * customer in progress (up to syncWaitMs: a customer with hundreds of releases gets its session,
   * and the rest of its area soon after). A failed sync does not fail the login (the area was
   * pruned by the check already).
   */
  async #synced(customer: string, checked: boolean): Promise<void> {
    const sync = this.#areaSync;
    if (!sync) return;
    const done = (checked ? sync.sync(customer) : sync.idle(customer)).then(
      () => undefined,
      (err: unknown) => this.#log.warn('area not synced at login', { customer, err }),
    );
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([done, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.#syncWaitMs)))]);
    clearTimeout(timer);
  }

  /** Through the chain: auth.check, then the area pruned to the customer's current releases. */
  async #check(request: LoginRequest): Promise<{ customer: string; name: string }> {
    const { login, protocol, clientAddress } = request;
    const credential = request.password !== undefined ? { password: request.password } : { publicKey: request.publicKey };
    const { customer, releases } = await this.#link.ask(authCheck, { login, protocol, clientAddress, ...credential });
    await this.#stager.prune(customer.login, releases);
    await mkdir(this.#areas.dirOf(customer.login), { recursive: true, mode: 0o755 });
    return { customer: customer.login, name: customer.name };
  }

  #refused(clientAddress: string, login: string, protocol: string, score: number, reason: string, attempt?: Attempt): never {
    if (attempt ? attempt.failed(score) : this.#defender.fail(clientAddress, score))
      this.#log.warn('address banned after repeated failed logins', { clientAddress, protocol });
    this.#log.info('login refused', { login: login.slice(0, 64), clientAddress, protocol, reason });
    throw FileHostErrors.AUTH_REFUSED('login refused');
  }
}
