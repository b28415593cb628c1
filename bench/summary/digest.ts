/**
 * A benchmark's figures (bench/results/<name>.json) turned into the summary's rows: comparisons with
 * a peer program, and headline numbers for the figures that have none.
 */
import type { Result } from '../result.js';

/** One figure of the project beside the same figure of a peer program, measured in the same run. */
export interface Comparison {
  benchmark: string;
  scenario: string;
  unit: string;
  ours: number;
  peer: number;
  peerName: string;
  better: 'higher' | 'lower';
  /** ours ÷ peer when higher is better, peer ÷ ours when lower is: > 1 always means the project is ahead. */
  ratio: number;
}

/** A figure with no peer program: its value, target and, if it has one, its ratio to a baseline of ours. */
export interface Headline {
  benchmark: string;
  scenario: string;
  value: number;
  unit: string;
  better: 'higher' | 'lower';
  target?: number;
  /** 'met' or 'MISSED' when there is a target. */
  verdict?: 'met' | 'MISSED';
  /** Another configuration of the project (e.g. "no pool"), oriented like `Comparison.ratio`. */
  baseline?: { name: string; ratio: number };
}

/** 'met' or 'MISSED' against the figure's target; '' when it has none. */
export function verdict(r: Result): '' | 'met' | 'MISSED' {
  if (r.target === undefined) return '';
  const ok = r.better === 'lower' ? r.value <= r.target : r.value >= r.target;
  return ok ? 'met' : 'MISSED';
}

/** value ÷ other when higher is better, other ÷ value when lower is: > 1 means `value` is ahead. */
export function orientedRatio(value: number, other: number, better: 'higher' | 'lower'): number {
  return better === 'lower' ? other / value : value / other;
}

function hasPeerProgram(r: Result): r is Result & { peer: string; peerValue: number } {
  return r.peer !== undefined && r.peerValue !== undefined && r.peerKind !== 'baseline';
}

export function comparisonsOf(benchmark: string, results: readonly Result[]): Comparison[] {
  return results.filter(hasPeerProgram).map((r) => {
    const better = r.better ?? 'higher';
    return {
      benchmark,
      scenario: r.metric,
      unit: r.unit,
      ours: r.value,
      peer: r.peerValue,
      peerName: r.peer,
      better,
      ratio: orientedRatio(r.value, r.peerValue, better),
    };
  });
}

/**
 * The figures that are not comparisons with a peer program. A row in "×" that restates a
 * comparison's ratio (e.g. "…: ratio to OpenSSH", kept in the benchmark's own table for its target)
 * is left out: the comparison already shows it.
 */
export function headlinesOf(benchmark: string, results: readonly Result[]): Headline[] {
  const raw = results.filter(hasPeerProgram).map((r) => r.value / r.peerValue);
  const restatesRatio = (r: Result) => r.unit === '×' && raw.some((ratio) => Math.abs(ratio - r.value) <= 1e-9 * Math.abs(ratio));
  return results
    .filter((r) => !hasPeerProgram(r) && !restatesRatio(r))
    .map((r) => {
      const better = r.better ?? 'higher';
      const headline: Headline = { benchmark, scenario: r.metric, value: r.value, unit: r.unit, better };
      const met = verdict(r);
      if (r.target !== undefined && met !== '') Object.assign(headline, { target: r.target, verdict: met });
      if (r.peer !== undefined && r.peerValue !== undefined) headline.baseline = { name: r.peer, ratio: orientedRatio(r.value, r.peerValue, better) };
      return headline;
    });
}
