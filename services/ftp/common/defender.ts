/**
 * The brute-force defender shared by FTP and SFTP (after SFTPGo's): each failed login adds to its
 * address's score (an unknown login more than a wrong password); a score that reaches the threshold
 * within the observation window bans the address, and each later ban of the same address lasts
 * longer. A successful login does not clear the score: a guesser who sometimes hits is still one.
 */
export interface DefenderOptions {
  threshold: number;
  observationMs: number;
  banMs: number;
  /** Each further ban lasts this much longer, in percent of the previous one. */
  banIncrementPercent: number;
  now?: () => number;
}

/**
 * What each failure adds. An SSH key offered that is not registered scores nothing (clients offer
 * every key they have, one after another); a connection that runs out of authentication attempts
 * (sftpMaxAuthAttempts) scores once, as a wrong password does.
 */
export const SCORE = Object.freeze({ unknownLogin: 2, wrongPassword: 1, noCredentials: 1, tooManyAuthAttempts: 1, keyNotRegistered: 0 });

interface HostRecord {
  /** Timestamps and scores of failures within the observation window. */
  events: { at: number; score: number }[];
  bannedUntil: number;
  bans: number;
  lastBanMs: number;
}

export class Defender {
  readonly #options: Required<DefenderOptions>;
  readonly #hosts = new Map<string, HostRecord>();

  constructor(options: DefenderOptions) {
    this.#options = { now: Date.now, ...options };
  }

  /** When the address is banned: until when (ms since the epoch); otherwise undefined. */
  bannedUntil(address: string): number | undefined {
    const record = this.#hosts.get(address);
    if (!record) return undefined;
    return record.bannedUntil > this.#options.now() ? record.bannedUntil : undefined;
  }

  /** Records a failed login; returns true when this failure got the address banned. */
  fail(address: string, score: number): boolean {
    const now = this.#options.now();
    let record = this.#hosts.get(address);
    if (!record) this.#hosts.set(address, (record = { events: [], bannedUntil: 0, bans: 0, lastBanMs: 0 }));
    record.events = record.events.filter((e) => e.at > now - this.#options.observationMs);
    record.events.push({ at: now, score });
    const total = record.events.reduce((sum, e) => sum + e.score, 0);
    if (total < this.#options.threshold || record.bannedUntil > now) return false;
    const banMs = record.bans === 0 ? this.#options.banMs : Math.round(record.lastBanMs * (1 + this.#options.banIncrementPercent / 100));
    record.bans++;
    record.lastBanMs = banMs;
    record.bannedUntil = now + banMs;
    record.events = [];
    this.#sweep(now);
    return true;
  }

  /** Addresses banned now, with the end of their ban. */
  banned(): { address: string; until: Date }[] {
    const now = this.#options.now();
    return [...this.#hosts].filter(([, r]) => r.bannedUntil > now).map(([address, r]) => ({ address, until: new Date(r.bannedUntil) }));
  }

  /** Forgets records with nothing left to remember (bounded memory under many addresses). */
  #sweep(now: number): void {
    if (this.#hosts.size < 10_000) return;
    for (const [address, r] of this.#hosts) {
      if (r.bannedUntil <= now && r.events.every((e) => e.at <= now - this.#options.observationMs)) this.#hosts.delete(address);
    }
  }
}
