import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Result } from './result.js';
import { comparisonsOf, verdict, type Comparison } from './summary/digest.js';

export type { Result } from './result.js';

/** What bench/results/<name>.json holds. */
export interface ResultsFile {
  benchmark: string;
  title: string;
  /** When the benchmark ran (ISO 8601). */
  measuredAt: string;
  results: Result[];
  /** The rows with a peer program, normalized for bench/results/summary.md (derived from `results`). */
  comparisons: Comparison[];
}

export function resultsFile(benchmark: string, title: string, measuredAt: string, results: Result[]): ResultsFile {
  return { benchmark, title, measuredAt, results, comparisons: comparisonsOf(benchmark, results) };
}

/**
 * Reads bench/results/<name>.json. Files written before `ResultsFile` hold only the array of
 * results; their date is then `fallbackDate` and their comparisons are derived here.
 */
export async function readResultsFile(path: string, benchmark: string, fallbackDate: string): Promise<ResultsFile> {
  const parsed = JSON.parse(await readFile(path, 'utf8')) as ResultsFile | Result[];
  if (Array.isArray(parsed)) return resultsFile(benchmark, benchmark, fallbackDate, parsed);
  return { ...parsed, comparisons: parsed.comparisons ?? comparisonsOf(benchmark, parsed.results) };
}

export function formatNumber(n: number | undefined): string {
  if (n === undefined) return '';
  if (Math.abs(n) >= 1000) return Math.round(n).toLocaleString('en-US');
  return n.toFixed(n >= 100 ? 0 : n >= 10 ? 1 : 2);
}

export function toMarkdown(title: string, intro: string, results: Result[]): string {
  const rows = results.map(
    (r) =>
      `| ${r.metric} | ${formatNumber(r.value)} ${r.unit} | ${r.peer ?? ''} | ${r.peerValue === undefined ? '' : `${formatNumber(r.peerValue)} ${r.unit}`} | ${r.ratio === undefined ? '' : r.ratio.toFixed(2) + '×'} | ${r.target === undefined ? '' : `${r.better === 'lower' ? '≤' : '≥'} ${formatNumber(r.target)}`} | ${verdict(r)} |`,
  );
  return `# ${title}\n\n${intro}\n\n| metric | value (median) | peer | peer value | ratio | target | |\n|---|---|---|---|---|---|---|\n${rows.join('\n')}\n`;
}

/** A horizontal bar chart (SVG) of each metric's ratio to its target or peer. */
export function toSvg(title: string, results: Result[]): string {
  const bars = results
    .map((r) => ({ label: r.metric, value: r.target ? (r.better === 'lower' ? r.target / r.value : r.value / r.target) : r.ratio }))
    .filter((b): b is { label: string; value: number } => b.value !== undefined && Number.isFinite(b.value));
  const width = 760;
  const left = 330;
  const rowH = 26;
  const max = Math.max(2, ...bars.map((b) => b.value));
  const scale = (width - left - 60) / max;
  const rows = bars
    .map((b, i) => {
      const y = 40 + i * rowH;
      const w = Math.max(1, b.value * scale);
      const colour = b.value >= 1 ? '#2f855a' : '#c53030';
      return `<text x="${left - 8}" y="${y + 15}" text-anchor="end" font-size="12">${escapeXml(b.label)}</text><rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="18" fill="${colour}"/><text x="${left + w + 4}" y="${y + 14}" font-size="12">${b.value.toFixed(2)}×</text>`;
    })
    .join('\n');
  const height = 60 + bars.length * rowH;
  const oneX = left + scale;
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif">
<text x="10" y="22" font-size="14" font-weight="bold">${escapeXml(title)} — value ÷ target (or ÷ peer); ≥ 1 is good</text>
<line x1="${oneX}" y1="32" x2="${oneX}" y2="${height - 10}" stroke="#555" stroke-dasharray="4 3"/>
${rows}
</svg>\n`;
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export async function writeResults(dir: string, name: string, title: string, intro: string, results: Result[]): Promise<void> {
  await mkdir(dir, { recursive: true });
  const file = resultsFile(name, title, new Date().toISOString(), results);
  await writeFile(join(dir, `${name}.json`), JSON.stringify(file, null, 2) + '\n');
  await writeFile(join(dir, `${name}.md`), toMarkdown(title, intro, results) + `\n![chart](${name}.svg)\n`);
  await writeFile(join(dir, `${name}.svg`), toSvg(title, results));
}

/**
 * A benchmark module run as a script (`node dist/bench/…/x.js`): runs `main` and prints each
 * figure, with the peer's beside it; a failure exits 1.
 */
export function runIfMain(moduleUrl: string, main: () => Promise<Result[]>): void {
  if (moduleUrl !== `file://${process.argv[1]}`) return;
  main().then(
    (results) => {
      for (const r of results) {
        const peer = r.peerValue === undefined ? '' : `   ${r.peer ?? 'peer'} ${r.peerValue.toFixed(2)}`;
        console.log(`${r.metric.padEnd(60)} ${r.value.toFixed(2).padStart(12)} ${r.unit}${peer}`);
      }
    },
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
