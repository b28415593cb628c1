/**
 * HTTP download benchmark: autocannon (its own process, 50 connections) against the file host's
 * ticketed download endpoint and, in the same run, nginx serving the same files with sendfile.
 * 1 KiB and 1 MiB files; rounds alternate between the two servers; medians.
 *   node dist/bench/file-host/http.js
 */
import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from '../commlink/measure.js';
import { writeResults, type Result } from '../results.js';
import { startBenchChain } from './chain.js';
import { nginxBinary, startNginx } from './nginx.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  rounds: 3,
  seconds: 8,
  warmupSeconds: 2,
  connections: 50,
  nginxWorkers: 'auto' as const,
  sizes: [
    ['1 KiB', 1024, 'requests', 0.5],
    ['1 MiB', 1024 * 1024, 'throughput', 0.8],
  ] as const,
});

interface Load {
  requestsPerSecond: number;
  bytesPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

async function autocannon(url: string, seconds: number): Promise<Load> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const { stdout } = await run(process.execPath, [bin, '--json', '-c', String(PARAMS.connections), '-d', String(seconds), url], { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; throughput: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { requestsPerSecond: r.requests.average, bytesPerSecond: r.throughput.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors, non2xx: r.non2xx };
}

export async function main(): Promise<Result[]> {
  if (!nginxBinary()) throw new Error('the HTTP benchmark needs nginx: apt-get install nginx-light');
  const chain = await startBenchChain();
  const nginx = await startNginx(chain.dir, join(chain.dir, 'areas', 'bench'), PARAMS.nginxWorkers);
  const results: Result[] = [];
  try {
    for (const [label, size, measure, target] of PARAMS.sizes) {
      const filename = `acme-${label.replace(' ', '')}.bin`;
      const version = `1.0.${size}`;
      const objectId = await chain.ingest(filename, size);
      await chain.publish(version, filename, objectId, size);
      const staged = await chain.web.fulfillment.stage('bench', 'acme', version);
      const ours = staged.files[0]!.url;
      const peer = `http://127.0.0.1:${nginx.port}/files/acme/${version}/${filename}`;
      for (const url of [ours, peer]) {
        const res = await fetch(url);
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200 || body.length !== size) throw new Error(`${url}: ${res.status}, ${body.length} bytes`);
      }
      await autocannon(ours, PARAMS.warmupSeconds);
      await autocannon(peer, PARAMS.warmupSeconds);
      const a: Load[] = [];
      const b: Load[] = [];
      for (let round = 0; round < PARAMS.rounds; round++) {
        a.push(await autocannon(ours, PARAMS.seconds));
        b.push(await autocannon(peer, PARAMS.seconds));
        const l = (x: Load) => `${Math.round(x.requestsPerSecond)} req/s ${(x.bytesPerSecond / 1e6).toFixed(0)} MB/s p99 ${x.p99} ms${x.errors + x.non2xx ? ` (${x.errors} errors, ${x.non2xx} non-2xx)` : ''}`;
        process.stderr.write(`  ${label} round ${round + 1}: file host ${l(a.at(-1)!)} | nginx ${l(b.at(-1)!)}\n`);
      }
      const pick = (loads: Load[], f: (l: Load) => number) => loads.map(f);
      const rps = [pick(a, (l) => l.requestsPerSecond), pick(b, (l) => l.requestsPerSecond)] as const;
      const mbs = [pick(a, (l) => l.bytesPerSecond / 1e6), pick(b, (l) => l.bytesPerSecond / 1e6)] as const;
      const p99 = [pick(a, (l) => l.p99), pick(b, (l) => l.p99)] as const;
      const headline = measure === 'requests' ? rps : mbs;
      const peerName = `nginx ${nginx.version}`;
      results.push(
        { metric: `${label}: requests/s`, unit: 'req/s', value: median(rps[0]), peer: peerName, peerValue: median(rps[1]), ratio: median(rps[0]) / median(rps[1]), runs: rps[0].map(Math.round) },
        { metric: `${label}: throughput`, unit: 'MB/s', value: median(mbs[0]), peer: peerName, peerValue: median(mbs[1]), ratio: median(mbs[0]) / median(mbs[1]), runs: mbs[0].map((v) => Math.round(v)) },
        { metric: `${label}: p99 latency`, unit: 'ms', value: median(p99[0]), peer: peerName, peerValue: median(p99[1]), ratio: median(p99[0]) / median(p99[1]), better: 'lower', runs: p99[0] },
        { metric: `${label}: ${measure === 'requests' ? 'requests/s' : 'throughput'} ratio to nginx`, unit: '×', value: median(headline[0]) / median(headline[1]), target, runs: headline[0].map((v, i) => Math.round((v / headline[1][i]!) * 100) / 100) },
      );
    }
  } finally {
    await nginx.stop();
    await chain.close();
  }
  const intro = [
    `autocannon ${PARAMS.connections} connections, keep-alive, ${PARAMS.seconds} s per round, ${PARAMS.rounds} rounds alternating between the servers (${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 cores shared by client and servers); medians.`,
    `File host: one Node process serving \`/files/<path>?ticket=<RSA-signed ticket>\` from the customer's area (ticket verified once, then cached; path resolved and file opened per request; every transfer's outcome batched to the internal-db audit through the web host, which run in the benchmark's own process). Peer: nginx (worker_processes ${PARAMS.nginxWorkers}, sendfile on, tcp_nopush, access log on) serving the same area at the same paths, no ticket check.`,
  ].join('\n');
  await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'http-downloads', 'HTTP download benchmark (file host vs nginx)', intro, results);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (results) => {
      for (const r of results) console.log(`${r.metric.padEnd(48)} ${r.value.toFixed(2).padStart(12)} ${r.unit}${r.peerValue === undefined ? '' : `   nginx ${r.peerValue.toFixed(2)}`}`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
