import { availableParallelism } from 'node:os';
import { CryptoPoolErrors } from './errors.js';

/** The crypto pool's options (piscina's, plus the commlink hook's window). */
export interface CryptoPoolOptions {
  /** Worker threads at most. */
  readonly maxThreads: number;
  /** Worker threads kept when idle (they keep their loaded signing keys). */
  readonly minThreads: number;
  /** A thread above minThreads idle this long exits. */
  readonly idleTimeoutMs: number;
  /** Tasks waiting for a thread at most; beyond, a task is refused (Infinity: no limit). */
  readonly maxQueue: number;
  /** CHUNK packets one commlink connection may have in the pool at once, per direction. */
  readonly maxPendingChunks: number;
}

export const cryptoPoolDefaults: Readonly<CryptoPoolOptions> = Object.freeze({
  maxThreads: Math.max(1, availableParallelism()),
  minThreads: 1,
  idleTimeoutMs: 30_000,
  maxQueue: Infinity,
  maxPendingChunks: 8,
});

const RANGES: Record<keyof CryptoPoolOptions, [number, number, boolean]> = {
  // [min, max, Infinity allowed]
  maxThreads: [1, 256, false],
  minThreads: [0, 256, false],
  idleTimeoutMs: [0, 3_600_000, false],
  maxQueue: [1, 1_000_000, true],
  maxPendingChunks: [1, 1024, false],
};

/** Applies the defaults, checks every field (the message names it) and freezes the result. */
export function resolveCryptoPoolOptions(input: Partial<CryptoPoolOptions> = {}): Readonly<CryptoPoolOptions> {
  const given = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as Partial<CryptoPoolOptions>;
  for (const field of Object.keys(given)) {
    if (!(field in RANGES)) throw CryptoPoolErrors.OPTIONS(`options.${field} is not a crypto pool option (known: ${Object.keys(RANGES).join(', ')})`);
  }
  const merged = { ...cryptoPoolDefaults, ...given };
  if (given.maxThreads !== undefined && given.minThreads === undefined) merged.minThreads = Math.min(merged.minThreads, merged.maxThreads);
  for (const [field, [min, max, infinite]] of Object.entries(RANGES) as [keyof CryptoPoolOptions, [number, number, boolean]][]) {
    const value = merged[field];
    const ok = typeof value === 'number' && ((infinite && value === Infinity) || (Number.isInteger(value) && value >= min && value <= max));
    if (!ok)
      throw CryptoPoolErrors.OPTIONS(`options.${field} must be an integer between ${min} and ${max}${infinite ? ' or Infinity' : ''}, got ${String(value)}`);
  }
  if (merged.minThreads > merged.maxThreads)
    throw CryptoPoolErrors.OPTIONS(`options.minThreads must be <= maxThreads (${merged.maxThreads}), got ${merged.minThreads}`);
  return Object.freeze(merged);
}
