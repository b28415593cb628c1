/**
 * The delay before retry `attempt` (1: the first retry): `minMs` doubling with each attempt, capped
 * at `maxMs`, with "equal jitter" (half fixed, half random) so that endpoints failing together do
 * not retry in lockstep.
 */
export function retryDelayMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const exp = Math.min(maxMs, minMs * 2 ** Math.min(attempt - 1, 40));
  return Math.round(exp / 2 + (random() * exp) / 2);
}
