/**
 * The full entitled download path: a customer asks the web host for an artifact
 * (`GET /api/v1/artifacts/<id>/download` with an API token: token check, entitlement as of now
 * (remembered while the change feed is live), staging on a file host (or remembered), a signed
 * ticket (or one signed moments ago), a 303) and follows the 303 to the file host, which verifies
 * the ticket and serves the file. In the same run, nginx serves the same files, behind the same kind
 * of 303 (`return 303` to its own /files/), with no checks at all. Also `GET /api/v1/downloads` at a
 * fixed pace and at its most. Each with the web host's HTTP in one process (workers = 1) and in one
 * worker process per core, with the CPU each process used.
 *   node dist/bench/web/entitled-downloads.js
 */
import { fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../commlink/measure.js';
import { startBenchChain, type BenchChain } from '../file-host/chain.js';
import { childrenOf, cpuBetween, cpuSnapshot, type ProcessGroups } from '../load/cpu.js';
import { nginxBinary, startNginx } from '../file-host/nginx.js';
import { autocannon, type Load } from '../load/autocannon.js';
import { runIfMain, writeResults, type Result } from '../results.js';
import type { PathLoad } from './path-client.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  rounds: 3,
  seconds: 5,
  warmupSeconds: 2,
  connections: 50,
  nginxWorkers: 'auto' as const,
  sizes: [
    ['64 KiB', 64 * 1024],
    ['1 MiB', 1024 * 1024],
  ] as const,
  /** The web host's HTTP processes: its own (workers = 1), then one worker per core. */
  workers: [1, availableParallelism()] as const,
  /** `GET /api/v1/downloads` at this fixed pace (autocannon overallRate), over this many connections. */
  listRate: 2000,
  listConnections: 10,
  /** Issue 17's targets. */
  targets: { redirectRatio: 0.5, fullPath64KiBRatio: 0.8, listP99Ms: 5 },
});

/** Runs the full-path client in its own process. */
function pathLoad(url: string, headers: Record<string, string>, seconds: number): Promise<PathLoad> {
  const child = fork(join(here, 'path-client.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  return new Promise((resolve, reject) => {
    child.once('message', (m: PathLoad | { error: string }) => {
      child.kill();
      if ('error' in m) reject(new Error(m.error));
      else resolve(m);
    });
    child.once('exit', (code) => code && reject(new Error(`path client exited with ${code}`)));
    child.send({ url, headers, seconds, concurrency: PARAMS.connections });
  });
}

/** The web host's worker processes (WebService.workerPids, when the web host has workers). */
function webWorkerPids(chain: BenchChain): number[] {
  return (chain.web as unknown as { workerPids?: readonly number[] }).workerPids?.slice() ?? [];
}

/** The processes whose CPU is reported (each looked up at every snapshot). */
function processGroups(chain: BenchChain, nginxPidFile: string): ProcessGroups {
  const nginx = () => {
    try {
      const pid = Number(readFileSync(nginxPidFile, 'utf8').trim());
      return [pid, ...childrenOf(pid)];
    } catch {
      return [];
    }
  };
  return {
    'web host (primary; the benchmark itself runs there too)': () => [process.pid],
    'web host workers': () => webWorkerPids(chain),
    'internal-db': () => (chain.db.pid ? [chain.db.pid] : []),
    'file host (primary)': () => (chain.child.pid ? [chain.child.pid] : []),
    'file host workers': () => (chain.child.pid ? childrenOf(chain.child.pid) : []),
    nginx,
  };
}

/** CPU per process group as % of one core over `wallSeconds`, as result rows. */
function cpuRows(prefix: string, used: Map<string, number>, wallSeconds: number): Result[] {
  return [...used].map(([group, seconds]) => ({
    metric: `${prefix}, CPU of ${group}`,
    unit: '% of a core',
    value: (100 * seconds) / wallSeconds,
  }));
}

const r = (x: Load) => `${Math.round(x.requestsPerSecond)} req/s p99 ${x.p99} ms${x.errors ? ` (${x.errors} errors)` : ''}`;
const p = (x: PathLoad) => `${Math.round(x.downloadsPerSecond)} downloads/s p99 ${x.p99.toFixed(1)} ms${x.errors ? ` (${x.errors} errors)` : ''}`;

/** One configuration of the web host (its worker count): every figure, prefixed with it. */
async function measure(workers: number, notes: string[]): Promise<Result[]> {
  const chain = await startBenchChain({ webHttp: true, webWorkers: workers });
  const results: Result[] = [];
  const cfg = `workers=${workers}`;
  try {
    if (workers > 1 && webWorkerPids(chain).length === 0) {
      notes.push(`${cfg}: not measured — this web host has no worker processes (services.web.workers not acted on in this build).`);
      return [];
    }
    const files: { label: string; version: string; filename: string }[] = [];
    for (const [label, size] of PARAMS.sizes) {
      const filename = `acme-${label.replace(' ', '')}.bin`;
      const version = `1.0.${size}`;
      await chain.publish(version, filename, await chain.ingest(filename, size), size);
      await chain.web.fulfillment.stage('bench', 'acme', version); // nginx serves the same staged area
      files.push({ label, version, filename });
    }
    const nginx = await startNginx(chain.dir, join(chain.dir, 'areas', 'bench'), PARAMS.nginxWorkers, (port) =>
      files.map((f) => `    location = /download/${f.version} { return 303 http://127.0.0.1:${port}/files/acme/${f.version}/${f.filename}; }`).join('\n'),
    );
    const groups = processGroups(chain, join(chain.dir, 'nginx.pid'));
    const { token } = await chain.web.db.ask(InternalDb.tokenCreate, { kind: 'customer', owner: 'bench', label: 'bench' });
    const auth = { authorization: `Bearer ${token}` };
    const { artifacts } = await chain.web.db.ask(InternalDb.releaseResolve, { customer: 'bench' });
    try {
      for (const [n, [label]] of PARAMS.sizes.entries()) {
        const file = files[n]!;
        const artifactId = artifacts.find((a) => a.version === file.version)!.artifactId;
        const ours = `${chain.web.httpUrl}/api/v1/artifacts/${artifactId}/download`;
        const peer = `http://127.0.0.1:${nginx.port}/download/${file.version}`;
        for (const [url, headers] of [
          [ours, auth],
          [peer, {}],
        ] as const) {
          const check = await pathLoad(url, headers, 0.2);
          if (check.errors > 0 || check.downloadsPerSecond === 0) throw new Error(`${url}: the path does not work (${check.errors} errors)`);
        }
        await autocannon(ours, PARAMS.warmupSeconds, PARAMS.connections, auth);
        await autocannon(peer, PARAMS.warmupSeconds, PARAMS.connections);
        // The second hop alone: the URL a 303 names (its ticket reused, as a client resuming would) vs nginx's file.
        const located = (await fetch(ours, { headers: auth, redirect: 'manual' })).headers.get('location')!;
        const peerFile = `http://127.0.0.1:${nginx.port}/files/acme/${file.version}/${file.filename}`;
        const hop: [Load[], Load[]] = [[], []];
        const redirect: [Load[], Load[]] = [[], []];
        const path: [PathLoad[], PathLoad[]] = [[], []];
        const cpu = { redirect: new Map<string, number>(), path: new Map<string, number>() };
        const add = (into: Map<string, number>, used: Map<string, number>) => {
          for (const [k, v] of used) into.set(k, (into.get(k) ?? 0) + v);
        };
        for (let round = 0; round < PARAMS.rounds; round++) {
          let before = cpuSnapshot(groups);
          redirect[0].push(await autocannon(ours, PARAMS.seconds, PARAMS.connections, auth));
          add(cpu.redirect, cpuBetween(before, cpuSnapshot(groups)));
          redirect[1].push(await autocannon(peer, PARAMS.seconds, PARAMS.connections));
          hop[0].push(await autocannon(located, PARAMS.seconds, PARAMS.connections));
          hop[1].push(await autocannon(peerFile, PARAMS.seconds, PARAMS.connections));
          before = cpuSnapshot(groups);
          path[0].push(await pathLoad(ours, auth, PARAMS.seconds));
          add(cpu.path, cpuBetween(before, cpuSnapshot(groups)));
          path[1].push(await pathLoad(peer, {}, PARAMS.seconds));
          process.stderr.write(
            `  ${cfg} ${label} round ${round + 1}: 303 leg: web ${r(redirect[0].at(-1)!)} | nginx ${r(redirect[1].at(-1)!)}; full path: ours ${p(path[0].at(-1)!)} | nginx ${p(path[1].at(-1)!)}\n`,
          );
        }
        const peerName = nginx.version;
        const rps = redirect.map((loads) => loads.map((l) => l.requestsPerSecond)) as [number[], number[]];
        const dps = path.map((loads) => loads.map((l) => l.downloadsPerSecond)) as [number[], number[]];
        const p99 = path.map((loads) => loads.map((l) => l.p99)) as [number[], number[]];
        const mbs = path.map((loads) => loads.map((l) => l.bytesPerSecond / 1e6)) as [number[], number[]];
        const hopRps = hop.map((loads) => loads.map((l) => l.requestsPerSecond)) as [number[], number[]];
        const errors =
          [...redirect[0], ...redirect[1], ...hop[0], ...hop[1]].reduce((sum, l) => sum + l.errors, 0) +
          [...path[0], ...path[1]].reduce((sum, l) => sum + l.errors, 0);
        const at = `${cfg} · ${label}`;
        results.push(
          {
            metric: `${at}: full path (303 + download), downloads/s`,
            unit: '/s',
            value: median(dps[0]),
            peer: peerName,
            peerValue: median(dps[1]),
            ratio: median(dps[0]) / median(dps[1]),
            runs: dps[0].map(Math.round),
          },
          {
            metric: `${at}: full path, payload throughput`,
            unit: 'MB/s',
            value: median(mbs[0]),
            peer: peerName,
            peerValue: median(mbs[1]),
            ratio: median(mbs[0]) / median(mbs[1]),
            runs: mbs[0].map(Math.round),
          },
          {
            metric: `${at}: full path, p99 latency`,
            unit: 'ms',
            value: median(p99[0]),
            peer: peerName,
            peerValue: median(p99[1]),
            ratio: median(p99[0]) / median(p99[1]),
            better: 'lower',
            runs: p99[0].map((v) => Math.round(v * 10) / 10),
          },
          {
            metric: `${at}: the 303 alone (autocannon), requests/s`,
            unit: 'req/s',
            value: median(rps[0]),
            peer: peerName,
            peerValue: median(rps[1]),
            ratio: median(rps[0]) / median(rps[1]),
            runs: rps[0].map(Math.round),
          },
          {
            metric: `${at}: the download alone (autocannon), requests/s`,
            unit: 'req/s',
            value: median(hopRps[0]),
            peer: peerName,
            peerValue: median(hopRps[1]),
            ratio: median(hopRps[0]) / median(hopRps[1]),
            runs: hopRps[0].map(Math.round),
          },
          { metric: `${at}: errors in all rounds`, unit: '', value: errors, target: 0, better: 'lower' },
        );
        if (n === 0) {
          results.push(
            { metric: `${at}: the 303 alone, ratio to nginx`, unit: '×', value: median(rps[0]) / median(rps[1]), target: PARAMS.targets.redirectRatio },
            {
              metric: `${at}: full path, ratio to nginx`,
              unit: '×',
              value: median(dps[0]) / median(dps[1]),
              target: PARAMS.targets.fullPath64KiBRatio,
            },
            ...cpuRows(`${at}: the 303 alone`, without(cpu.redirect, 'nginx'), PARAMS.rounds * PARAMS.seconds),
            ...cpuRows(`${at}: full path`, without(cpu.path, 'nginx'), PARAMS.rounds * PARAMS.seconds),
          );
        }
      }
      results.push(...(await listing(cfg, `${chain.web.httpUrl}/api/v1/downloads`, auth, groups)));
    } finally {
      await nginx.stop();
    }
  } finally {
    await chain.close();
  }
  return results;
}

function without(used: Map<string, number>, group: string): Map<string, number> {
  const out = new Map(used);
  out.delete(group);
  return out;
}

/** `GET /api/v1/downloads` with a token: latency at a fixed pace, then requests/s at its most. */
async function listing(cfg: string, url: string, auth: Record<string, string>, groups: ProcessGroups): Promise<Result[]> {
  await autocannon(url, PARAMS.warmupSeconds, PARAMS.listConnections, auth);
  const paced: Load[] = [];
  const most: Load[] = [];
  let used = new Map<string, number>();
  for (let round = 0; round < PARAMS.rounds; round++) {
    const before = cpuSnapshot(groups);
    paced.push(await autocannon(url, PARAMS.seconds, PARAMS.listConnections, auth, { overallRate: PARAMS.listRate }));
    if (round === 0) used = cpuBetween(before, cpuSnapshot(groups));
    most.push(await autocannon(url, PARAMS.seconds, PARAMS.connections, auth));
    process.stderr.write(`  ${cfg} GET /api/v1/downloads round ${round + 1}: at ${PARAMS.listRate}/s ${r(paced.at(-1)!)}; at most ${r(most.at(-1)!)}\n`);
  }
  const at = `${cfg} · GET /api/v1/downloads`;
  const errors = [...paced, ...most].reduce((sum, l) => sum + l.errors + (l.non2xx ?? 0), 0);
  return [
    {
      metric: `${at} at ${PARAMS.listRate}/s: p99 latency`,
      unit: 'ms',
      value: median(paced.map((l) => l.p99)),
      target: PARAMS.targets.listP99Ms,
      better: 'lower',
      runs: paced.map((l) => l.p99),
    },
    {
      metric: `${at} at ${PARAMS.listRate}/s: p50 latency`,
      unit: 'ms',
      value: median(paced.map((l) => l.p50)),
      better: 'lower',
      runs: paced.map((l) => l.p50),
    },
    { metric: `${at} at ${PARAMS.listRate}/s: requests/s served`, unit: 'req/s', value: median(paced.map((l) => l.requestsPerSecond)) },
    {
      metric: `${at}: at most, requests/s`,
      unit: 'req/s',
      value: median(most.map((l) => l.requestsPerSecond)),
      runs: most.map((l) => Math.round(l.requestsPerSecond)),
    },
    { metric: `${at}: errors and non-2xx in all rounds`, unit: '', value: errors, target: 0, better: 'lower' },
    ...cpuRows(`${at} at ${PARAMS.listRate}/s`, without(used, 'nginx'), PARAMS.seconds),
  ];
}

export async function main(): Promise<Result[]> {
  if (!nginxBinary()) throw new Error('this benchmark needs nginx: apt-get install nginx-light');
  const results: Result[] = [];
  const notes: string[] = [];
  const load = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  for (const workers of [...new Set(PARAMS.workers)]) results.push(...(await measure(workers, notes)));
  const loadAfter = readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  const intro = [
    `${PARAMS.connections} concurrent customers, keep-alive, ${PARAMS.seconds} s per round, ${PARAMS.rounds} rounds alternating between the project and nginx (${new Date().toISOString().slice(0, 10)}, ${process.version}, ${availableParallelism()} cores shared by clients and servers; load average ${load} before, ${loadAfter} after — other work on the machine adds noise); medians.`,
    "Ours: the web host (API token checked with the internal-db and remembered 10 s as configured by default; the customer's artifacts remembered while the change feed is live and dropped by it; `GET /api/v1/artifacts/:id/download` answered in front of koa by the same route code; the release staged on the file host once and remembered; a signed ticket reused for a few seconds; 303), its primary in the benchmark process, with `workers` = 1 (the primary serves HTTP) and = cores (worker processes serve HTTP); the internal-db and the file host in processes of their own; then the file host's download workers (ticket verified, path resolved, sendfile, audited).",
    `Peer: nginx (worker_processes ${PARAMS.nginxWorkers}, sendfile) answering the same kind of 303 (\`return 303\`) to the same files in the same staged area; no token, no entitlement, no ticket, no audit.`,
    'The "full path" rows come from a Node.js client in its own process that follows each 303 and reads the file (autocannon cannot follow a redirect to another host); the "303 alone" and "download alone" rows are autocannon on each hop by itself.',
    `\`GET /api/v1/downloads\` (the customer's artifacts, asked of the internal-db each time): autocannon at a fixed ${PARAMS.listRate} requests/s over ${PARAMS.listConnections} connections (latency counted from when each request was due), then as fast as it goes over ${PARAMS.connections}.`,
    "CPU: utime + stime of each process from /proc/<pid>/stat over our rounds, as % of one core (the load generator: the exited autocannon and path-client children of the benchmark process). The web host's primary is the benchmark process: its figure includes the benchmark's own bookkeeping.",
    ...notes,
  ].join('\n');
  await writeResults(
    join(here, '..', '..', '..', 'bench', 'results'),
    'entitled-downloads',
    'Entitled downloads: web 303 + file host vs nginx, one process and one per core',
    intro,
    results,
  );
  return results;
}

runIfMain(import.meta.url, main);
