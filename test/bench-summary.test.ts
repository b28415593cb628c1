import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { ensureTools, installCommand, PEERS_MISSING } from '../bench/peers/install.js';
import { CodedError } from '../lib/errors/index.js';
import type { Tool } from '../bench/peers/tools.js';
import { resultsFile, type Result } from '../bench/results.js';
import { ratioChartSvg } from '../bench/summary/chart.js';
import { collectResults } from '../bench/summary/collect.js';
import { comparisonsOf, headlinesOf } from '../bench/summary/digest.js';
import { summaryMarkdown } from '../bench/summary/markdown.js';
import { writeSummary } from '../bench/summary/run.js';

const sftp: Result[] = [
  { metric: 'SFTP 256 MiB, one stream', unit: 'MB/s', value: 250, peer: 'OpenSSH_9.2 internal-sftp', peerValue: 200, ratio: 1.25 },
  { metric: 'SFTP 256 MiB, one stream: ratio to OpenSSH', unit: '×', value: 1.25, target: 1 },
];

const staging: Result[] = [
  { metric: 'stage 1 GiB through the commlink', unit: 'ms', value: 2, peer: 'cp', peerValue: 500, ratio: 0.004, target: 5, better: 'lower' },
  { metric: 'stage 1 GiB, p99 latency', unit: 'ms', value: 40, peer: 'cp', peerValue: 10, ratio: 4, better: 'lower' },
  { metric: 'stage 1 GiB via the web host', unit: 'ms', value: 9, target: 5, better: 'lower' },
];

const pool: Result[] = [
  { metric: 'no pool: event-loop delay p99', unit: 'ms', value: 40, better: 'lower' },
  { metric: 'pool: event-loop delay p99', unit: 'ms', value: 20, peer: 'no pool', peerValue: 40, ratio: 0.5, better: 'lower', peerKind: 'baseline' },
];

test('a ratio above 1 means the project is ahead, whichever way the figure is better', (t) => {
  const [throughput] = comparisonsOf('sftp', sftp);
  t.is(throughput?.ratio, 1.25);
  t.is(throughput?.better, 'higher');
  const [fast, slow] = comparisonsOf('staging', staging);
  t.is(fast?.ratio, 250); // cp 500 ms ÷ ours 2 ms
  t.is(fast?.better, 'lower');
  t.is(slow?.ratio, 0.25); // ours four times slower
  t.is(comparisonsOf('staging', staging).length, 2);
});

test('a baseline of the project is not a peer: its rows are headlines with an oriented baseline ratio', (t) => {
  t.deepEqual(comparisonsOf('crypto-pool', pool), []);
  const headlines = headlinesOf('crypto-pool', pool);
  t.is(headlines.length, 2);
  t.deepEqual(headlines[1]?.baseline, { name: 'no pool', ratio: 2 });
});

test('headlines keep targets and verdicts and leave out rows restating a comparison ratio', (t) => {
  t.deepEqual(headlinesOf('sftp', sftp), []);
  const [web] = headlinesOf('staging', staging);
  t.is(web?.scenario, 'stage 1 GiB via the web host');
  t.is(web?.verdict, 'MISSED');
  t.is(web?.target, 5);
});

test('the markdown has one row per comparison and per headline, with oriented ratios', (t) => {
  const digest = (benchmark: string, results: Result[]) => ({
    benchmark,
    title: benchmark,
    measuredAt: '2026-11-23T00:00:00.000Z',
    comparisons: comparisonsOf(benchmark, results),
    headlines: headlinesOf(benchmark, results),
  });
  const md = summaryMarkdown([digest('staging', staging), digest('sftp', sftp), digest('crypto-pool', pool)], 'summary.svg');
  t.true(md.includes('| staging | stage 1 GiB through the commlink | 2.00 | 500 | cp | ms | lower | 250.00× |'));
  t.true(md.includes('| staging | stage 1 GiB, p99 latency | 40.0 | 10.0 | cp | ms | lower | 0.25× |'));
  t.true(md.includes('| sftp | SFTP 256 MiB, one stream | 250 | 200 | OpenSSH_9.2 internal-sftp | MB/s | higher | 1.25× |'));
  t.true(md.includes('| staging | stage 1 GiB via the web host | 9.00 ms | lower | ≤ 5.00 ms | MISSED |  |'));
  t.true(md.includes('| crypto-pool | pool: event-loop delay p99 | 20.0 ms | lower |  |  | 2.00× no pool |'));
  t.true(md.includes('ahead in 2 of 3 comparisons'));
  t.true(md.includes('![ratio of the project to its peer, log scale](summary.svg)'));
  t.true(md.includes('| staging | 2026-11-23 | 2 | 1 |'));
});

test('the chart draws a bar per comparison on a log scale around the 1× line', (t) => {
  const comparisons = [...comparisonsOf('staging', staging), ...comparisonsOf('sftp', sftp)];
  const svg = ratioChartSvg('Peers', comparisons);
  t.is(svg.match(/<rect x=/g)?.length, 3);
  t.true(svg.includes('staging: stage 1 GiB through the commlink (vs cp)'));
  t.true(svg.includes('>250.00×<'));
  t.true(svg.includes('>0.25×<'));
  t.true(svg.includes('>1000×<') && svg.includes('>0.1×<')); // the domain's ends: 0.25 → 0.1, 250 → 1000
  // On a log scale 250× and 0.25× are bars of lengths log(250) and log(4) from the same 1× line.
  const widths = [...svg.matchAll(/<rect x="[\d.]+" y="[\d.]+" width="([\d.]+)"/g)].map((m) => Number(m[1]));
  t.true(Math.abs(widths[0]! / widths[1]! - Math.log10(250) / Math.log10(4)) < 0.01);
  t.true(svg.includes('fill="#c53030"') && svg.includes('fill="#2f855a"'));
});

test('the summary reads new results files and older plain arrays alike', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-summary-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(join(dir, 'sftp.json'), JSON.stringify(resultsFile('sftp', 'SFTP', '2026-12-01T10:00:00.000Z', sftp)));
  writeFileSync(join(dir, 'staging.json'), JSON.stringify(staging)); // written before ResultsFile
  const digests = await collectResults(dir);
  t.deepEqual(
    digests.map((d) => d.benchmark),
    ['staging', 'sftp'],
  ); // running order
  t.is(digests[0]?.comparisons.length, 2);
  t.is(digests[1]?.measuredAt, '2026-12-01T10:00:00.000Z');
  t.deepEqual(await writeSummary(dir), { benchmarks: 2, comparisons: 3 });
  t.true((await readFile(join(dir, 'summary.md'), 'utf8')).includes('| sftp | SFTP 256 MiB, one stream |'));
  t.true((await readFile(join(dir, 'summary.svg'), 'utf8')).startsWith('<svg'));
});

test('a missing peer names its package and the command, and installs nothing unless root', (t) => {
  const absent: Tool = { description: 'a peer that is not here', present: () => false, packages: ['peer-light', 'peer'] };
  const here: Tool = { description: 'a peer that is here', present: () => true, packages: ['other'] };
  const lines: string[] = [];
  t.notThrows(() => ensureTools([here], { root: false }));
  t.notThrows(() => ensureTools([absent, here], { dryRun: true, log: (line) => lines.push(line) }));
  t.regex(lines.join('\n'), /would run: apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends peer-light$/);
  const err = t.throws(() => ensureTools([absent, here], { root: false }), { instanceOf: CodedError });
  t.is(err?.code, PEERS_MISSING.code);
  t.true(err?.message.includes('peer-light or peer'));
  t.true(err?.message.includes(installCommand([absent])));
});
