/**
 * A transfer's watchdog: the sender calls `progress()` each time bytes move (a socket took them);
 * when none move for `idleMs`, `onStall` runs, once. A client that stops reading holds a
 * descriptor, a socket buffer and a session slot for as long as nothing notices: this notices
 * (services.ftp.transferIdleSeconds). Refreshing is cheap (one timer, re-armed in place).
 */
export class StallWatch {
  #timer: NodeJS.Timeout | undefined;

  constructor(idleMs: number, onStall: () => void) {
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      onStall();
    }, idleMs);
  }

  progress(): void {
    this.#timer?.refresh();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** The error a stalled transfer ends with (its `stalled` flag tells it from a client hanging up). */
export function stalledError(idleMs: number): Error & { stalled: true } {
  return Object.assign(new Error(`no byte moved for ${Math.round(idleMs / 1000)} s: the client stopped reading`), { stalled: true as const });
}

export function isStalled(err: unknown): boolean {
  return (err as { stalled?: unknown } | undefined)?.stalled === true;
}
