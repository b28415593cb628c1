/**
 * Latencies of effects, measured from the reply of the change that causes them to the first
 * observation of the effect: polled (`observe`) or the time it arrived by itself (`arrival`). Summaries by
 * nearest-rank percentiles (with fewer than 100 rounds, p99 is the slowest round).
 */
import { performance } from 'node:perf_hooks';

/** What a poll gives up after: no effect this long after its change counts as never (and fails the scenario). */
export const OBSERVE_TIMEOUT_MS = 3000;

export interface Summary {
  effect: string;
  rounds: number;
  p50: number;
  p99: number;
  max: number;
}

/** The value at percentile `p` (0-100) of `values`, nearest rank (an observed value, never interpolated). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1]!;
}

/** Latencies by effect, in the order effects were first recorded. */
export class Latencies {
  readonly #by = new Map<string, number[]>();

  add(effect: string, ms: number): void {
    const list = this.#by.get(effect) ?? [];
    list.push(ms);
    this.#by.set(effect, list);
  }

  /** Records what `measure` resolves with under `effect` (it rejects when the effect never came). */
  async record(effect: string, measure: Promise<number>): Promise<number> {
    const ms = await measure;
    this.add(effect, ms);
    return ms;
  }

  summaries(): Summary[] {
    return [...this.#by].map(([effect, values]) => ({
      effect,
      rounds: values.length,
      p50: percentile(values, 50),
      p99: percentile(values, 99),
      max: Math.max(...values),
    }));
  }

  /** The summaries as an aligned text table (effect, rounds, p50, p99, max; milliseconds). */
  table(): string {
    return formatTable(this.summaries());
  }
}

/** Summaries as an aligned text table, milliseconds rounded. */
export function formatTable(rows: readonly Summary[]): string {
  const header = ['effect', 'rounds', 'p50 ms', 'p99 ms', 'max ms'];
  const cells = rows.map((r) => [r.effect, String(r.rounds), ms(r.p50), ms(r.p99), ms(r.max)]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((v, i) => (i === 0 ? v.padEnd(widths[i]!) : v.padStart(widths[i]!))).join('  ');
  return [line(header), ...cells.map(line)].join('\n');
}

const ms = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : String(v));

/** Now, on the clock every latency here is measured with. */
export const now = (): number => performance.now();

/**
 * Polls `probe` every `intervalMs` (a probe that takes longer delays the next one) until it
 * answers true; resolves with the milliseconds from `since` (the change's reply) to the end of
 * that probe. Rejects, naming `what`, when the effect is not seen within `timeoutMs` of `since`.
 */
export async function observe(
  what: string,
  since: number,
  probe: () => Promise<boolean>,
  options: { intervalMs?: number; timeoutMs?: number } = {},
): Promise<number> {
  const { intervalMs = 10, timeoutMs = OBSERVE_TIMEOUT_MS } = options;
  for (;;) {
    const started = now();
    if (await probe()) return now() - since;
    if (now() - since > timeoutMs) throw new Error(`${what}: not seen within ${timeoutMs} ms of the change`);
    const rest = intervalMs - (now() - started);
    if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  }
}

/** A promise with the time it settled (fulfilled), for an effect that arrives by itself (a reply, a close). */
export function timed<T>(promise: Promise<T>): Promise<{ value: T; at: number }> {
  return promise.then((value) => ({ value, at: now() }));
}

/**
 * Waits for an effect that arrives by itself (`arrival`, from `timed`, set up before the change):
 * resolves with its value and the milliseconds from `since` (the change's reply) to it, 0 when it
 * came before the reply; rejects, naming `what`, when it has not come within `timeoutMs` of `since`.
 */
export async function arrival<T>(
  what: string,
  since: number,
  arrives: Promise<{ value: T; at: number }>,
  timeoutMs = OBSERVE_TIMEOUT_MS,
): Promise<{ value: T; ms: number }> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not seen within ${timeoutMs} ms of the change`)), Math.max(0, since + timeoutMs - now()));
  });
  try {
    const { value, at } = await Promise.race([arrives, late]);
    return { value, ms: Math.max(0, at - since) };
  } finally {
    clearTimeout(timer);
  }
}
