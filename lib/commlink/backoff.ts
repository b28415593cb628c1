/**
 * Exponential back-off with jitter: attempt n waits a random time in [d/2, d], where
 * d = min(max, min * 2^n). Jitter keeps many clients from reconnecting in step.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const ceiling = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(ceiling / 2 + random() * (ceiling / 2));
}
