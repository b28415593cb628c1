/**
 * The cost of the web workers' IPC hop (services.web.workers ≥ 2: a worker asks the internal-db
 * through the primary). Two figures:
 *
 * - the raw round trip of one message between two Node processes over the IPC channel the web
 *   workers use (fork, `serialization: 'advanced'`): serial (one in flight) and pipelined;
 * - `GET /api/v1/entitlements` with a customer token (the token remembered, the entitlements asked
 *   of the internal-db on every request: an uncached internal-db read) with workers = 1 (no hop) and
 *   workers = 2: the most requests/s autocannon gets (keep-alive, CONNECTIONS connections), and p50
 *   / p99 at a fixed rate (RATE requests/s).
 *
 * No peer: it measures a choice of the project against itself. `measureIpcHop()` is exported for
 * the web tier's full benchmark.
 *
 *   npm run build && node dist/bench/web/workers-ipc.js
 */
import { execFile, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';
import { median } from '../commlink/measure.js';
import { startBenchChain } from '../file-host/chain.js';

const run = promisify(execFile);

/** Fixed, named parameters: change them here, never per run. */
export const PARAMS = Object.freeze({
  ipcRoundTrips: 20_000,
  ipcPipelined: 64,
  seconds: 5,
  connections: 32,
  /** The fixed rate for the latency figures (requests/s, all connections together). */
  rate: 1000,
  rateConnections: 16,
  rounds: 3,
});

export interface IpcFigures {
  /** One message there and back, one at a time: µs per round trip (median of rounds). */
  serialMicros: number;
  /** Round trips per second with PARAMS.ipcPipelined in flight. */
  pipelinedPerSecond: number;
}

export interface HttpFigures {
  workers: number;
  maxRequestsPerSecond: number;
  /** At PARAMS.rate requests/s: latency percentiles, ms. */
  p50: number;
  p99: number;
  errors: number;
}

/** The raw IPC round trip between this process and a forked echo child. */
export async function measureIpcRoundTrip(): Promise<IpcFigures> {
  const child = fork(fileURLToPath(import.meta.url), ['--echo'], { serialization: 'advanced', stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve) => child.once('message', resolve));
  const pending = new Map<number, () => void>();
  child.on('message', (m: { id: number }) => {
    pending.get(m.id)?.();
    pending.delete(m.id);
  });
  let next = 0;
  const once = () =>
    new Promise<void>((resolve) => {
      const id = ++next;
      pending.set(id, resolve);
      child.send({ type: 'call', id, method: 'db.ask', args: { op: 'entitlements.list', body: { customer: 'bench' }, timeoutMs: 10_000 } });
    });
  const serial: number[] = [];
  for (let round = 0; round < PARAMS.rounds; round++) {
    const started = performance.now();
    for (let i = 0; i < PARAMS.ipcRoundTrips / 4; i++) await once();
    serial.push(((performance.now() - started) * 1000) / (PARAMS.ipcRoundTrips / 4));
  }
  const pipelined: number[] = [];
  for (let round = 0; round < PARAMS.rounds; round++) {
    const started = performance.now();
    let left = PARAMS.ipcRoundTrips;
    await Promise.all(
      Array.from({ length: PARAMS.ipcPipelined }, async () => {
        while (left-- > 0) await once();
      }),
    );
    pipelined.push(PARAMS.ipcRoundTrips / ((performance.now() - started) / 1000));
  }
  child.disconnect();
  return { serialMicros: median(serial), pipelinedPerSecond: median(pipelined) };
}

async function autocannon(url: string, headers: Record<string, string>, args: string[]): Promise<{ rps: number; p50: number; p99: number; errors: number }> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  const { stdout } = await run(process.execPath, [bin, '--json', '-d', String(PARAMS.seconds), ...args, ...headerArgs, url], { maxBuffer: 64 * 1024 * 1024 });
  const r = JSON.parse(stdout) as { requests: { average: number }; latency: { p50: number; p99: number }; errors: number; non2xx: number };
  return { rps: r.requests.average, p50: r.latency.p50, p99: r.latency.p99, errors: r.errors + r.non2xx };
}

/** GET /api/v1/entitlements against a web host with `workers` processes: max requests/s, and latency at a fixed rate. */
export async function measureEntitlementsRead(workers: number): Promise<HttpFigures> {
  const chain = await startBenchChain({ webHttp: true, webWorkers: workers });
  try {
    const { token } = await chain.web.db.ask(InternalDb.tokenCreate, { kind: 'customer', owner: 'bench', label: 'bench' });
    const url = `${chain.web.httpUrl}/api/v1/entitlements`;
    const auth = { authorization: `Bearer ${token}` };
    await autocannon(url, auth, ['-c', '4', '-d', '1']); // warm-up: every worker has the token cached
    const max: number[] = [];
    const p50: number[] = [];
    const p99: number[] = [];
    let errors = 0;
    for (let round = 0; round < PARAMS.rounds; round++) {
      const flat = await autocannon(url, auth, ['-c', String(PARAMS.connections)]);
      const paced = await autocannon(url, auth, ['-c', String(PARAMS.rateConnections), '-R', String(PARAMS.rate)]);
      max.push(flat.rps);
      p50.push(paced.p50);
      p99.push(paced.p99);
      errors += flat.errors + paced.errors;
    }
    return { workers, maxRequestsPerSecond: median(max), p50: median(p50), p99: median(p99), errors };
  } finally {
    await chain.close();
  }
}

/** Every figure of this benchmark (for the web tier's full benchmark). */
export async function measureIpcHop(): Promise<{ ipc: IpcFigures; http: HttpFigures[] }> {
  const ipc = await measureIpcRoundTrip();
  const http = [await measureEntitlementsRead(1), await measureEntitlementsRead(2)];
  return { ipc, http };
}

if (process.argv.includes('--echo')) {
  process.on('message', (m) => process.send!(m));
  process.send!({ ready: true });
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { ipc, http } = await measureIpcHop();
  console.log(
    `IPC round trip (advanced serialization): ${ipc.serialMicros.toFixed(1)} µs serial; ${Math.round(ipc.pipelinedPerSecond)}/s with ${PARAMS.ipcPipelined} in flight`,
  );
  console.log('| workers | max req/s | p50 ms @ %d/s | p99 ms @ %d/s | errors |', PARAMS.rate, PARAMS.rate);
  console.log('|---|---|---|---|---|');
  for (const h of http) console.log(`| ${h.workers} | ${Math.round(h.maxRequestsPerSecond)} | ${h.p50} | ${h.p99} | ${h.errors} |`);
  process.exit(0);
}
