import type { Perf } from 'lru-cache';

/**
 * The LRUCache options that make a cache read its time from `now` (ms) rather than from
 * performance.now(): for tests that move a clock by hand (undefined: lru-cache's own clock).
 * Every staleness check then reads `now` (ttlResolution 0: by default lru-cache keeps one reading
 * for a millisecond of real time). lru-cache takes a start time of 0 for "no ttl", so such a clock
 * must not read 0.
 */
export function cacheClock(now: (() => number) | undefined): { perf?: Perf; ttlResolution?: number } {
  return now ? { perf: { now }, ttlResolution: 0 } : {};
}
