/**
 * Runs the benchmarks (all, or those named) after installing the peers they need, then writes
 * bench/results/summary.{md,svg} from every result there is.
 *   npm run bench                       every benchmark
 *   npm run bench -- sftp ftp           only these
 *   npm run bench -- --dry-run [names]  what would be installed and run; nothing runs
 */
import { BENCHMARKS, BENCHMARK_NAMES, type Benchmark } from './catalogue.js';
import { isError } from '../lib/errors/index.js';
import { ensurePeers, PEERS_MISSING } from './peers/install.js';
import { writeSummary } from './summary/run.js';

function choose(args: readonly string[]): Benchmark[] {
  const unknown = args.filter((name) => !BENCHMARK_NAMES.includes(name));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; the benchmarks are: ${BENCHMARK_NAMES.join(', ')}`);
  return args.length === 0 ? [...BENCHMARKS] : BENCHMARKS.filter((b) => args.includes(b.name));
}

const args = process.argv.slice(2);
const dryRun = args.includes('--dry-run');
let chosen: Benchmark[];
try {
  chosen = choose(args.filter((a) => a !== '--dry-run'));
  ensurePeers(
    chosen.flatMap((b) => b.needs),
    { dryRun },
  );
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(isError(err, PEERS_MISSING) ? 3 : 2);
}

if (dryRun) {
  process.stderr.write(`would run: ${chosen.map((b) => b.name).join(', ')}; then write bench/results/summary.{md,svg}\n`);
  process.exit(0);
}

const failed: string[] = [];
for (const benchmark of chosen) {
  process.stderr.write(`== ${benchmark.name}\n`);
  const started = Date.now();
  try {
    await (
      await benchmark.load()
    )();
    process.stderr.write(`   ${benchmark.name}: ${Math.round((Date.now() - started) / 1000)} s\n`);
  } catch (err) {
    failed.push(benchmark.name);
    process.stderr.write(
      `${benchmark.name} failed; its previous results (if any) stay in the summary:\n${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
  }
}
const { benchmarks, comparisons } = await writeSummary();
process.stderr.write(
  `results written to bench/results/; summary of ${benchmarks} benchmarks (${comparisons} comparisons with a peer) in bench/results/summary.md\n`,
);
if (failed.length > 0) {
  process.stderr.write(`failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
