/**
 * The full entitled download path: a customer asks the web host for an artifact
 * (`GET /api/v1/artifacts/<id>/download` with an API token: token check, entitlement check with the
 * internal-db, staging on a file host (or remembered), a signed ticket, a 303) and follows the 303
 * to the file host, which verifies the ticket and serves the file. In the same run, nginx serves the
 * same files, behind the same kind of 303 (`return 303` to its own /files/), with no checks at all.
 *   node dist/bench/web/entitled-downloads.js
 */
import { fork } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { median } from '../commlink/measure.js';
import { startBenchChain } from '../file-host/chain.js';
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

export async function main(): Promise<Result[]> {
  if (!nginxBinary()) throw new Error('this benchmark needs nginx: apt-get install nginx-light');
  const chain = await startBenchChain({ webHttp: true });
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
  const { token } = await chain.web.db.ask(InternalDb.tokenCreate, { kind: 'customer', owner: 'bench', label: 'bench' });
  const auth = { authorization: `Bearer ${token}` };
  const { artifacts } = await chain.web.db.ask(InternalDb.releaseResolve, { customer: 'bench' });
  const results: Result[] = [];
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
      for (let round = 0; round < PARAMS.rounds; round++) {
        redirect[0].push(await autocannon(ours, PARAMS.seconds, PARAMS.connections, auth));
        redirect[1].push(await autocannon(peer, PARAMS.seconds, PARAMS.connections));
        hop[0].push(await autocannon(located, PARAMS.seconds, PARAMS.connections));
        hop[1].push(await autocannon(peerFile, PARAMS.seconds, PARAMS.connections));
        path[0].push(await pathLoad(ours, auth, PARAMS.seconds));
        path[1].push(await pathLoad(peer, {}, PARAMS.seconds));
        const r = (x: Load) => `${Math.round(x.requestsPerSecond)} req/s p99 ${x.p99} ms${x.errors ? ` (${x.errors} errors)` : ''}`;
        const p = (x: PathLoad) => `${Math.round(x.downloadsPerSecond)} downloads/s p99 ${x.p99.toFixed(1)} ms${x.errors ? ` (${x.errors} errors)` : ''}`;
        process.stderr.write(
          `  ${label} round ${round + 1}: 303 leg: web ${r(redirect[0].at(-1)!)} | nginx ${r(redirect[1].at(-1)!)}; full path: ours ${p(path[0].at(-1)!)} | nginx ${p(path[1].at(-1)!)}\n`,
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
      results.push(
        {
          metric: `${label}: full path (303 + download), downloads/s`,
          unit: '/s',
          value: median(dps[0]),
          peer: peerName,
          peerValue: median(dps[1]),
          ratio: median(dps[0]) / median(dps[1]),
          runs: dps[0].map(Math.round),
        },
        {
          metric: `${label}: full path, payload throughput`,
          unit: 'MB/s',
          value: median(mbs[0]),
          peer: peerName,
          peerValue: median(mbs[1]),
          ratio: median(mbs[0]) / median(mbs[1]),
          runs: mbs[0].map(Math.round),
        },
        {
          metric: `${label}: full path, p99 latency`,
          unit: 'ms',
          value: median(p99[0]),
          peer: peerName,
          peerValue: median(p99[1]),
          ratio: median(p99[0]) / median(p99[1]),
          better: 'lower',
          runs: p99[0].map((v) => Math.round(v * 10) / 10),
        },
        {
          metric: `${label}: the 303 alone (autocannon), requests/s`,
          unit: 'req/s',
          value: median(rps[0]),
          peer: peerName,
          peerValue: median(rps[1]),
          ratio: median(rps[0]) / median(rps[1]),
          runs: rps[0].map(Math.round),
        },
        {
          metric: `${label}: the download alone (autocannon), requests/s`,
          unit: 'req/s',
          value: median(hopRps[0]),
          peer: peerName,
          peerValue: median(hopRps[1]),
          ratio: median(hopRps[0]) / median(hopRps[1]),
          runs: hopRps[0].map(Math.round),
        },
        { metric: `${label}: errors in all rounds`, unit: '', value: errors, target: 0, better: 'lower' },
      );
    }
  } finally {
    await nginx.stop();
    await chain.close();
  }
  const intro = [
    `${PARAMS.connections} concurrent customers, keep-alive, ${PARAMS.seconds} s per round, ${PARAMS.rounds} rounds alternating between the project and nginx (${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 cores shared by clients and servers); medians.`,
    "Ours: the web host (koa; API token checked with the internal-db and remembered 10 s as configured by default; entitlement checked with the internal-db on every request; the release staged on the file host once and remembered 10 s; a fresh RSA-signed ticket per request; 303) in the benchmark process, the internal-db and the file host in processes of their own; then the file host's download workers (ticket verified, path resolved, sendfile, audited).",
    `Peer: nginx (worker_processes ${PARAMS.nginxWorkers}, sendfile) answering the same kind of 303 (\`return 303\`) to the same files in the same staged area; no token, no entitlement, no ticket, no audit.`,
    'The "full path" rows come from a Node.js client in its own process that follows each 303 and reads the file (autocannon cannot follow a redirect to another host); the "303 alone" and "download alone" rows are autocannon on each hop by itself.',
  ].join('\n');
  await writeResults(
    join(here, '..', '..', '..', 'bench', 'results'),
    'entitled-downloads',
    'Entitled downloads: web 303 + file host vs nginx',
    intro,
    results,
  );
  return results;
}

runIfMain(import.meta.url, main);
