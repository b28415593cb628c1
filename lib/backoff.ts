/** How a retry's delay grows: see `backoffDelay`. */
export interface BackoffOptions {
  /** The first retry's delay, in ms. */
  readonly minMs: number;
  /** The longest delay, in ms. */
  readonly maxMs: number;
  /**
   * Spreads each delay d at random over [d/2, d] (rounded to the ms), so that many peers that lost
   * the same server do not come back in step. `true` draws from Math.random; a function is the
   * source of randomness in [0, 1] (tests pass a fixed one). Absent or false: the delay is d.
   */
  readonly jitter?: boolean | (() => number);
}

/**
 * Exponential back-off: retry `attempt` (0 for the first) waits d = min(maxMs, minMs * 2^attempt),
 * or a jittered share of it. The exponent stops at 30, so d stays finite however long the retries go.
 */
export function backoffDelay(attempt: number, { minMs, maxMs, jitter = false }: BackoffOptions): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  if (jitter === false) return ceiling;
  const random = jitter === true ? Math.random : jitter;
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
