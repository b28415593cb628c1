/**
 * HTTP download benchmark: autocannon (its own process, 50 connections) against the file host's
 * ticketed download endpoint and, in the same run, nginx serving the same files with sendfile.
 * 1 KiB and 1 MiB files; rounds alternate between the two servers; medians. autocannon parses
 * responses in JavaScript and saturates first, so wrk (C, Debian's package), when installed,
 * loads both servers too: its figures show what each server can do.
 *   node dist/bench/file-host/http.js
 */
import { execFile, fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from '../commlink/measure.js';
import { autocannon as load, type Load } from '../load/autocannon.js';
import { runIfMain, writeResults, type Result } from '../results.js';
import { startBenchChain } from './chain.js';
import { nginxBinary, startNginx } from './nginx.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  rounds: 3,
  seconds: 6,
  warmupSeconds: 2,
  connections: 50,
  nginxWorkers: 'auto' as const,
  sizes: [
    ['1 KiB', 1024, 'requests', 0.5],
    ['1 MiB', 1024 * 1024, 'throughput', 0.8],
  ] as const,
});

/** wrk, one thread, same connections; undefined when wrk is not installed. */
async function wrk(url: string, seconds: number): Promise<Load | undefined> {
  let stdout: string;
  try {
    ({ stdout } = await run('wrk', ['-t1', `-c${PARAMS.connections}`, `-d${seconds}s`, '--latency', url]));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const number = (re: RegExp) => Number(re.exec(stdout)?.[1] ?? NaN);
  const ms = (re: RegExp) => {
    const m = re.exec(stdout);
    if (!m) return NaN;
    const unit = m[2];
    return Number(m[1]) * (unit === 'us' ? 0.001 : unit === 's' ? 1000 : 1);
  };
  const errors = number(/Non-2xx or 3xx responses: (\d+)/);
  return {
    requestsPerSecond: number(/Requests\/sec:\s+([\d.]+)/),
    bytesPerSecond: NaN,
    p50: ms(/ 50%\s+([\d.]+)(us|ms|s)/),
    p99: ms(/ 99%\s+([\d.]+)(us|ms|s)/),
    errors: 0,
    non2xx: Number.isNaN(errors) ? 0 : errors,
  };
}

const autocannon = (url: string, seconds: number): Promise<Load> => load(url, seconds, PARAMS.connections);

export async function main(): Promise<Result[]> {
  if (!nginxBinary()) throw new Error('the HTTP benchmark needs nginx: apt-get install nginx-light');
  const chain = await startBenchChain();
  const nginx = await startNginx(chain.dir, join(chain.dir, 'areas', 'bench'), PARAMS.nginxWorkers);
  const bare = fork(join(here, 'bare-node-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  const barePort = await new Promise<number>((resolve) => {
    bare.once('message', (m) => resolve((m as { port: number }).port));
    bare.send({ root: join(chain.dir, 'areas', 'bench') });
  });
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
      const reference = `http://127.0.0.1:${barePort}/files/acme/${version}/${filename}`;
      for (const url of [ours, peer, reference]) {
        const res = await fetch(url);
        const body = Buffer.from(await res.arrayBuffer());
        if (res.status !== 200 || body.length !== size) throw new Error(`${url}: ${res.status}, ${body.length} bytes`);
      }
      await autocannon(ours, PARAMS.warmupSeconds);
      await autocannon(peer, PARAMS.warmupSeconds);
      const a: Load[] = [];
      const b: Load[] = [];
      const wa: Load[] = [];
      const wb: Load[] = [];
      const c: Load[] = [];
      for (let round = 0; round < PARAMS.rounds; round++) {
        a.push(await autocannon(ours, PARAMS.seconds));
        b.push(await autocannon(peer, PARAMS.seconds));
        c.push(await autocannon(reference, PARAMS.seconds));
        const w = [await wrk(ours, PARAMS.seconds), await wrk(peer, PARAMS.seconds)];
        if (w[0] && w[1]) {
          wa.push(w[0]);
          wb.push(w[1]);
        }
        const l = (x: Load) =>
          `${Math.round(x.requestsPerSecond)} req/s p99 ${x.p99} ms${x.errors + x.non2xx ? ` (${x.errors} errors, ${x.non2xx} non-2xx)` : ''}`;
        process.stderr.write(
          `  ${label} round ${round + 1}: autocannon: file host ${l(a.at(-1)!)} | nginx ${l(b.at(-1)!)} | bare Node ${l(c.at(-1)!)}${w[0] && w[1] ? `; wrk: file host ${l(w[0])} | nginx ${l(w[1])}` : ''}\n`,
        );
      }
      const peerName = nginx.version; // e.g. nginx/1.22.1
      const figures = (client: string, ours: Load[], theirs: Load[], withTarget: boolean) => {
        const rps = [ours.map((l) => l.requestsPerSecond), theirs.map((l) => l.requestsPerSecond)] as const;
        const mbs = [rps[0].map((v) => (v * size) / 1e6), rps[1].map((v) => (v * size) / 1e6)] as const;
        const p99 = [ours.map((l) => l.p99), theirs.map((l) => l.p99)] as const;
        const headline = measure === 'requests' ? rps : mbs;
        const rows: Result[] = [
          {
            metric: `${label}, ${client}: requests/s`,
            unit: 'req/s',
            value: median(rps[0]),
            peer: peerName,
            peerValue: median(rps[1]),
            ratio: median(rps[0]) / median(rps[1]),
            runs: rps[0].map(Math.round),
          },
          {
            metric: `${label}, ${client}: payload throughput`,
            unit: 'MB/s',
            value: median(mbs[0]),
            peer: peerName,
            peerValue: median(mbs[1]),
            ratio: median(mbs[0]) / median(mbs[1]),
            runs: mbs[0].map(Math.round),
          },
          {
            metric: `${label}, ${client}: p99 latency`,
            unit: 'ms',
            value: median(p99[0]),
            peer: peerName,
            peerValue: median(p99[1]),
            ratio: median(p99[0]) / median(p99[1]),
            better: 'lower',
            runs: p99[0],
          },
          {
            metric: `${label}, ${client}: ${measure === 'requests' ? 'requests/s' : 'throughput'} ratio to nginx`,
            unit: '×',
            value: median(headline[0]) / median(headline[1]),
            ...(withTarget ? { target } : {}),
            runs: headline[0].map((v, i) => Math.round((v / headline[1][i]!) * 100) / 100),
          },
        ];
        return rows;
      };
      results.push(...figures('autocannon', a, b, true));
      const bareRps = c.map((l) => l.requestsPerSecond);
      results.push({
        metric: `${label}, autocannon: bare Node.js server (reference), ${measure === 'requests' ? 'requests/s' : 'throughput'} ratio to nginx`,
        unit: '×',
        value: median(bareRps) / median(b.map((l) => l.requestsPerSecond)),
        runs: bareRps.map((v, i) => Math.round((v / b[i]!.requestsPerSecond) * 100) / 100),
      });
      if (wa.length > 0) results.push(...figures('wrk', wa, wb, false));
    }
  } finally {
    await nginx.stop();
    bare.disconnect();
    await chain.close();
  }
  const intro = [
    `autocannon ${PARAMS.connections} connections, keep-alive, ${PARAMS.seconds} s per round, ${PARAMS.rounds} rounds alternating between the servers (${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 cores shared by client and servers); medians.`,
    `File host: download worker processes (one per core) serving \`/files/<path>?ticket=<RSA-signed ticket>\` from the customer's area (ticket verified once, then cached; path resolved and file opened per request; every transfer's outcome batched to the internal-db audit through the web host, which run in the benchmark's own process). Targets are judged on the autocannon figures (the client the issue names); the wrk rows show the same servers under a client that is not the bottleneck. Peer: nginx (worker_processes ${PARAMS.nginxWorkers}, sendfile on, tcp_nopush, access log on) serving the same area at the same paths, no ticket check.`,
    'Reference: a bare Node.js server in one process (file opened once, createReadStream, no ticket, no checks, no audit): the ceiling of the platform on this machine, measured in the same rounds.',
  ].join('\n');
  await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'http-downloads', 'HTTP download benchmark (file host vs nginx)', intro, results);
  return results;
}

runIfMain(import.meta.url, main);
