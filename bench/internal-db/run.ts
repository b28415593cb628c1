/**
 * internal-db benchmark: auth.check over one commlink connection from another process.
 * - pipelined throughput (requests in flight together), password and SSH-key logins;
 * - latency percentiles at a fixed arrival rate (open loop: requests leave on schedule whether or
 *   not earlier ones have returned, so a slow reply cannot hide the queue behind it).
 *   node dist/bench/internal-db/run.js
 */
import { fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommlinkClient, KeyBag, type Body } from '../../lib/commlink/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { median } from '../commlink/measure.js';
import { writeResults, type Result } from '../results.js';
import { authCheck } from '../../lib/contracts/internal-db/index.js';

const here = dirname(fileURLToPath(import.meta.url));

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  runs: 5,
  pipelineDepth: 1000,
  pipelinedSeconds: 2,
  fixedRate: 2000,
  fixedRateSeconds: 5,
  password: 'bench password 1',
  keyBlob: 'AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl',
});

const passwordLogin = (i: number): Body => ({ login: `customer-${i % 100}`, password: PARAMS.password, protocol: 'sftp', clientAddress: '198.51.100.7' });
const keyLogin = (): Body => ({
  login: 'customer-0',
  publicKey: { algorithm: 'ssh-ed25519', key: PARAMS.keyBlob },
  protocol: 'sftp',
  clientAddress: '198.51.100.7',
});

async function pipelined(client: CommlinkClient, body: (i: number) => Body): Promise<number> {
  const started = performance.now();
  const end = started + PARAMS.pipelinedSeconds * 1000;
  let count = 0;
  while (performance.now() < end) {
    const batch: Promise<unknown>[] = [];
    for (let i = 0; i < PARAMS.pipelineDepth; i++) batch.push(client.request(authCheck.name, body(count + i)));
    await Promise.all(batch);
    count += PARAMS.pipelineDepth;
  }
  return count / ((performance.now() - started) / 1000);
}

/** Latencies (ms) of requests sent at a fixed rate. */
async function fixedRate(client: CommlinkClient): Promise<number[]> {
  const total = PARAMS.fixedRate * PARAMS.fixedRateSeconds;
  const interval = 1000 / PARAMS.fixedRate;
  const latencies: number[] = [];
  const inFlight: Promise<void>[] = [];
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + i * interval;
    const wait = due - performance.now();
    if (wait > 1) await new Promise((r) => setTimeout(r, wait));
    const sentAt = Math.max(due, performance.now()) === due ? due : performance.now();
    inFlight.push(client.request(authCheck.name, passwordLogin(i)).then(() => void latencies.push(performance.now() - sentAt)));
  }
  await Promise.all(inFlight);
  return latencies;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

export async function main(): Promise<Result[]> {
  const keys = Array.from({ length: 128 }, () => randomBytes(32));
  const dir = mkdtempSync(join(tmpdir(), 'ffs-bench-db-'));
  const child = fork(join(here, 'server-process.js'), [], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    execArgv: process.env.BENCH_CPU_PROF ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_CPU_PROF}`] : [],
  });
  try {
    const { port } = await new Promise<{ port: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { port: number }));
      child.once('exit', (code) => reject(new Error(`bench internal-db exited with ${code}`)));
      child.send({ keys: keys.map((k) => k.toString('base64')), dir });
    });
    const client = new CommlinkClient({ host: '127.0.0.1', port, bag: new KeyBag(keys), log: createLogger({ level: 'warn' }) });
    await client.connect();
    // Warm up: every customer's password is verified once (scrypt), as after a day of logins.
    await Promise.all(Array.from({ length: 100 }, (_, i) => client.request(authCheck.name, passwordLogin(i))));
    await pipelined(client, passwordLogin);
    const pw: number[] = [];
    const key: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    for (let run = 0; run < PARAMS.runs; run++) {
      pw.push(await pipelined(client, passwordLogin));
      key.push(await pipelined(client, keyLogin));
      const lat = (await fixedRate(client)).sort((a, b) => a - b);
      p50.push(percentile(lat, 50));
      p99.push(percentile(lat, 99));
      process.stderr.write(
        `  run ${run + 1}/${PARAMS.runs}: password ${pw.at(-1)!.toFixed(0)}/s, key ${key.at(-1)!.toFixed(0)}/s, at ${PARAMS.fixedRate}/s p50 ${p50.at(-1)!.toFixed(2)} ms p99 ${p99.at(-1)!.toFixed(2)} ms\n`,
      );
    }
    await client.close();
    const round = (values: number[]) => values.map((v) => Math.round(v * 100) / 100);
    const results: Result[] = [
      { metric: 'auth.check pipelined (password, verified before)', unit: 'req/s', value: median(pw), target: 10_000, runs: round(pw) },
      { metric: 'auth.check pipelined (SSH key)', unit: 'req/s', value: median(key), target: 10_000, runs: round(key) },
      { metric: `auth.check p50 at ${PARAMS.fixedRate}/s`, unit: 'ms', value: median(p50), better: 'lower', runs: round(p50) },
      { metric: `auth.check p99 at ${PARAMS.fixedRate}/s`, unit: 'ms', value: median(p99), target: 5, better: 'lower', runs: round(p99) },
    ];
    const intro = [
      `auth.check over one commlink connection (aes-256-gcm) between two processes on loopback (${new Date().toISOString().slice(0, 10)}, ${process.version}); medians of ${PARAMS.runs} runs.`,
      'Database: 100 customers × 3 entitlements over 3 products × 10 releases × 2 artifacts; each reply carries the customer, its entitlements and its granted releases: entitlements are read live on every check; the catalogue of published releases is cached and dropped on any change.',
      `Password logins hit the verified-password cache (scrypt N=2^15 ran once per customer in the warm-up, as it does at the first login of the day); a wrong password always pays scrypt. Pipelined: ${PARAMS.pipelineDepth} in flight. Fixed rate: ${PARAMS.fixedRate}/s for ${PARAMS.fixedRateSeconds} s, open loop.`,
    ].join('\n');
    await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'internal-db', 'internal-db auth.check benchmark', intro, results);
    return results;
  } finally {
    child.disconnect(); // the child closes its service and exits (writing its CPU profile, if asked)
    await new Promise((resolve) => {
      const timer = setTimeout(resolve, 5000);
      child.once('exit', () => resolve(clearTimeout(timer)));
    });
    child.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (results) => {
      for (const r of results) console.log(`${r.metric.padEnd(52)} ${r.value.toFixed(2).padStart(10)} ${r.unit}`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
