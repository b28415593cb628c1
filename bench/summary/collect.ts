/** Reads every benchmark's results from bench/results/*.json, in the order `npm run bench` runs them. */
import { readdir, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { BENCHMARK_NAMES } from '../catalogue.js';
import { readResultsFile } from '../results.js';
import { headlinesOf, type Comparison, type Headline } from './digest.js';

/** One benchmark's part of the summary. */
export interface BenchmarkDigest {
  benchmark: string;
  title: string;
  measuredAt: string;
  comparisons: Comparison[];
  headlines: Headline[];
}

/** Known benchmarks first, in their running order; any other results file after them, by name. */
function byRunningOrder(a: string, b: string): number {
  const rank = (name: string) => {
    const i = BENCHMARK_NAMES.indexOf(name);
    return i === -1 ? BENCHMARK_NAMES.length : i;
  };
  return rank(a) - rank(b) || a.localeCompare(b);
}

export async function collectResults(dir: string): Promise<BenchmarkDigest[]> {
  const names = (await readdir(dir))
    .filter((file) => file.endsWith('.json'))
    .map((file) => basename(file, '.json'))
    .sort(byRunningOrder);
  const digests: BenchmarkDigest[] = [];
  for (const name of names) {
    const path = join(dir, `${name}.json`);
    const file = await readResultsFile(path, name, (await stat(path)).mtime.toISOString());
    digests.push({
      benchmark: name,
      title: file.title,
      measuredAt: file.measuredAt,
      comparisons: file.comparisons,
      headlines: headlinesOf(name, file.results),
    });
  }
  return digests;
}
