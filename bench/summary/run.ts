/**
 * Writes bench/results/summary.{md,svg} from every bench/results/<name>.json there is; `npm run
 * bench` runs it after the benchmarks, and it runs alone on the results as they are:
 *   node dist/bench/summary/run.js
 */
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ratioChartSvg } from './chart.js';
import { collectResults } from './collect.js';
import { summaryMarkdown } from './markdown.js';

/** bench/results/ in the source tree (this file runs from dist/bench/summary/). */
export const RESULTS_DIR = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bench', 'results');

export const SUMMARY_FILES = Object.freeze({ markdown: 'summary.md', chart: 'summary.svg' });

/** Writes the summary into `dir`; returns how many benchmarks and comparisons it holds. */
export async function writeSummary(dir: string = RESULTS_DIR): Promise<{ benchmarks: number; comparisons: number }> {
  const digests = await collectResults(dir);
  const comparisons = digests.flatMap((d) => d.comparisons);
  await writeFile(join(dir, SUMMARY_FILES.markdown), summaryMarkdown(digests, SUMMARY_FILES.chart));
  await writeFile(join(dir, SUMMARY_FILES.chart), ratioChartSvg('Benchmarks: the project vs its peers', comparisons));
  return { benchmarks: digests.length, comparisons: comparisons.length };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  writeSummary().then(
    ({ benchmarks, comparisons }) =>
      process.stderr.write(
        `summary of ${benchmarks} benchmarks (${comparisons} comparisons with a peer): bench/results/${SUMMARY_FILES.markdown}, ${SUMMARY_FILES.chart}\n`,
      ),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
