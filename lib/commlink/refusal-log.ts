import type { Logger } from '../log/logger.js';

export interface RefusalLogOptions {
  /** Warn lines written per interval; the refusals beyond are counted instead. */
  readonly lines: number;
  readonly intervalMs: number;
}

/**
 * The warn lines about refused connections of one commlink end (a listener, or a dialling client),
 * at a bounded rate: a hostile peer that opens connection after connection (or sends packet after
 * bad packet, each closing its connection) must not fill the disk with one line each. Within each
 * interval the first `lines` refusals are logged as they come; the others are counted, by code,
 * and one line at the end of the interval (or at close) says how many were not logged.
 *
 * Invariant: per interval at most `lines` + 1 lines; every refusal is either logged or counted in
 * a summary line (a summary pending when the process exits is lost with it).
 */
export class RefusalLog {
  readonly #log: Logger;
  readonly #options: RefusalLogOptions;
  #windowStart = 0;
  #logged = 0;
  #suppressed = 0;
  #codes: Record<string, number> = {};
  #timer: NodeJS.Timeout | undefined;

  constructor(log: Logger, options: RefusalLogOptions) {
    this.#log = log;
    this.#options = options;
  }

  /** Logs `message` at warn through `log` (a child with the peer's address), or counts it. */
  warn(log: Logger, message: string, fields: { code: string; reason: string } & Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.#windowStart >= this.#options.intervalMs) {
      this.flush();
      this.#windowStart = now;
      this.#logged = 0;
    }
    if (this.#logged < this.#options.lines) {
      this.#logged++;
      log.warn(message, fields);
      return;
    }
    this.#suppressed++;
    this.#codes[fields.code] = (this.#codes[fields.code] ?? 0) + 1;
    if (!this.#timer) {
      this.#timer = setTimeout(() => this.flush(), Math.max(1, this.#windowStart + this.#options.intervalMs - now));
      this.#timer.unref();
    }
  }

  /** Writes the summary of the refusals not logged, if any (at the end of an interval, or at close). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#suppressed === 0) return;
    this.#log.warn('commlink refusals not logged', {
      suppressed: this.#suppressed,
      codes: this.#codes,
      intervalMs: this.#options.intervalMs,
      linesPerInterval: this.#options.lines,
    });
    this.#suppressed = 0;
    this.#codes = {};
  }
}
