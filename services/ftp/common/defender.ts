import { addressGroup } from '../../../lib/address-group.js';

/**
 * The brute-force defender shared by FTP and SFTP (after SFTPGo's): each failed login adds to its
 * address's score (an unknown login more than a wrong password); a score that reaches the threshold
 * within the observation window bans the address, and each later ban of the same address lasts
 * longer. A successful login does not clear the score: a guesser who sometimes hits is still one.
 *
 * Addresses are counted by group (lib/address-group.ts): an IPv6 client by its /64, an IPv4-mapped
 * IPv6 address as the IPv4 address.
 *
 * Logins checked at the same time cannot outrun the threshold: a login reserves its failure before
 * its credentials are checked (`attempt`), and is admitted while the score counted and reserved is
 * under the threshold; otherwise it waits until one of the reserved is decided (a success gives
 * its reservation back). So however many guesses arrive at once, at most `threshold` of them reach
 * the password check before the address is banned, and right logins sent at once from one address
 * (a client opening several sessions, an office behind one NAT) all get in.
 *
 * Records with nothing left to remember are swept on a timer (unref'd; `close` stops it), and at
 * most `maxTracked` groups are tracked (beyond, the oldest that is not banned is forgotten).
 */
export interface DefenderOptions {
  threshold: number;
  observationMs: number;
  banMs: number;
  /** Each further ban lasts this much longer, in percent of the previous one. */
  banIncrementPercent: number;
  /** How often forgettable records are swept (default: the observation window, at most a minute). */
  sweepIntervalMs?: number;
  /** Address groups tracked at most (default 100,000). */
  maxTracked?: number;
  now?: () => number;
}

/**
 * What each failure adds. An SSH key offered that is not registered scores nothing (clients offer
 * every key they have, one after another); a connection that runs out of authentication attempts
 * (sftpMaxAuthAttempts) scores once, as a wrong password does.
 */
export const SCORE = Object.freeze({ unknownLogin: 2, wrongPassword: 1, noCredentials: 1, tooManyAuthAttempts: 1, keyNotRegistered: 0 });

/** A login being checked: its failure is reserved until it is decided. */
export interface Attempt {
  /** The login failed: `score` counts (in place of the reservation). True when this got the address banned. */
  failed(score: number): boolean;
  /** The login succeeded, or was not decided by the client's credentials (the chain is down): the reservation is given back. */
  cancel(): void;
}

interface Failure {
  at: number;
  score: number;
  /** Reserved by a login still being checked: it counts, and is not forgotten with the window. */
  pending: boolean;
}

interface HostRecord {
  /** Failures within the observation window, and those reserved. */
  events: Failure[];
  /** Logins waiting for a reserved one to be decided. */
  waiters: (() => void)[];
  bannedUntil: number;
  bans: number;
  lastBanMs: number;
}

const MAX_TRACKED = 100_000;

export class Defender {
  readonly #options: Required<Omit<DefenderOptions, 'sweepIntervalMs' | 'maxTracked'>> & { maxTracked: number };
  readonly #hosts = new Map<string, HostRecord>();
  readonly #timer: NodeJS.Timeout;
  #lastSweep = 0;

  constructor(options: DefenderOptions) {
    this.#options = { now: Date.now, ...options, maxTracked: options.maxTracked ?? MAX_TRACKED };
    const every = options.sweepIntervalMs ?? Math.min(options.observationMs, 60_000);
    this.#timer = setInterval(() => this.sweep(), every).unref();
  }

  /** When the address is banned: until when (ms since the epoch); otherwise undefined. */
  bannedUntil(address: string): number | undefined {
    const record = this.#hosts.get(addressGroup(address));
    if (!record) return undefined;
    return record.bannedUntil > this.#options.now() ? record.bannedUntil : undefined;
  }

  /**
   * Before a login is checked: reserves a failure of `score` for the address, waiting while the
   * score counted and reserved fills the threshold; resolves with undefined when the address is
   * banned (the login must be refused without a check).
   */
  async attempt(address: string, score: number = SCORE.wrongPassword): Promise<Attempt | undefined> {
    const group = addressGroup(address);
    for (;;) {
      const now = this.#options.now();
      const record = this.#record(group, now);
      if (record.bannedUntil > now) return undefined;
      const pending = record.events.some((e) => e.pending);
      if (this.#score(record, now) < this.#options.threshold || !pending) return this.#reserve(record, now, score);
      await new Promise<void>((resolve) => record.waiters.push(resolve));
    }
  }

  /** Records a failed login; returns true when this failure got the address banned. */
  fail(address: string, score: number): boolean {
    const now = this.#options.now();
    const record = this.#record(addressGroup(address), now);
    record.events.push({ at: now, score, pending: false });
    return this.#judge(record, now);
  }

  /** Address groups banned now, with the end of their ban. */
  banned(): { address: string; until: Date }[] {
    const now = this.#options.now();
    return [...this.#hosts].filter(([, r]) => r.bannedUntil > now).map(([address, r]) => ({ address, until: new Date(r.bannedUntil) }));
  }

  /** Address groups tracked now. */
  get tracked(): number {
    return this.#hosts.size;
  }

  /** Forgets the records with nothing left to remember (no ban in force, no failure in the window, none pending); returns how many. */
  sweep(): number {
    const now = this.#options.now();
    this.#lastSweep = now;
    let forgotten = 0;
    for (const [group, record] of this.#hosts) {
      this.#score(record, now); // drops the failures that left the window
      if (record.bannedUntil <= now && record.events.length === 0) {
        this.#hosts.delete(group);
        forgotten++;
      }
    }
    return forgotten;
  }

  /** Stops the sweep timer (the file host closes it). */
  close(): void {
    clearInterval(this.#timer);
  }

  #reserve(record: HostRecord, now: number, score: number): Attempt {
    const failure: Failure = { at: now, score, pending: true };
    record.events.push(failure);
    let decided = false;
    const decide = () => {
      decided = true;
      failure.pending = false;
      for (const wake of record.waiters.splice(0)) wake(); // they look again: room, or a ban
    };
    return {
      failed: (final) => {
        if (decided) return false;
        failure.score = final;
        decide();
        if (!record.events.includes(failure)) record.events.push(failure);
        return this.#judge(record, this.#options.now());
      },
      cancel: () => {
        if (decided) return;
        const at = record.events.indexOf(failure);
        if (at >= 0) record.events.splice(at, 1);
        decide();
      },
    };
  }

  #record(group: string, now: number): HostRecord {
    let record = this.#hosts.get(group);
    if (record) return record;
    if (this.#hosts.size >= this.#options.maxTracked) this.#makeRoom(now);
    this.#hosts.set(group, (record = { events: [], waiters: [], bannedUntil: 0, bans: 0, lastBanMs: 0 }));
    return record;
  }

  /** At the cap: a sweep (at most once a second), else the oldest record that is not banned is forgotten. */
  #makeRoom(now: number): void {
    if (now - this.#lastSweep >= 1000 && this.sweep() > 0) return;
    for (const [group, record] of this.#hosts) {
      if (record.bannedUntil <= now && !record.events.some((e) => e.pending)) {
        this.#hosts.delete(group);
        return;
      }
    }
  }

  /** The score within the window, reservations included (expired failures are dropped). */
  #score(record: HostRecord, now: number): number {
    record.events = record.events.filter((e) => e.pending || e.at > now - this.#options.observationMs);
    return record.events.reduce((sum, e) => sum + e.score, 0);
  }

  /**
   * Bans the address when the score of its decided failures has reached the threshold (and it is
   * not banned already). Reservations do not count here: one of them may yet be the right password.
   */
  #judge(record: HostRecord, now: number): boolean {
    this.#score(record, now);
    const failed = record.events.reduce((sum, e) => sum + (e.pending ? 0 : e.score), 0);
    if (failed < this.#options.threshold || record.bannedUntil > now) return false;
    const banMs = record.bans === 0 ? this.#options.banMs : Math.round(record.lastBanMs * (1 + this.#options.banIncrementPercent / 100));
    record.bans++;
    record.lastBanMs = banMs;
    record.bannedUntil = now + banMs;
    record.events = record.events.filter((e) => e.pending);
    return true;
  }
}
