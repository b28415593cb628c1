/**
 * Detects a dead peer. Every `intervalMs` it looks at the time since anything was received: past
 * `timeoutMs` the peer is declared dead; past `intervalMs` a ping is sent, whose pong counts as
 * activity. Traffic of any kind counts, so a busy link sends no pings.
 */
export class Heartbeat {
  readonly #timer: NodeJS.Timeout;
  #lastActivity = Date.now();

  constructor(intervalMs: number, timeoutMs: number, actions: { ping(): void; dead(silentMs: number): void }) {
    this.#timer = setInterval(() => {
      const silent = Date.now() - this.#lastActivity;
      if (silent >= timeoutMs) actions.dead(silent);
      else if (silent >= intervalMs) actions.ping();
    }, intervalMs);
    this.#timer.unref();
  }

  activity(): void {
    this.#lastActivity = Date.now();
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
