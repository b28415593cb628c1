import { execFile } from 'node:child_process';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** What one load run measured. */
export interface Load {
  requestsPerSecond: number;
  bytesPerSecond: number;
  /** Latency percentiles, in ms. */
  p50: number;
  p99: number;
  errors: number;
  non2xx: number;
}

/** autocannon in a process of its own (so it never shares the benchmark's event loop), keep-alive. */
export async function autocannon(
  url: string,
  seconds: number,
  connections: number,
  headers: Record<string, string> = {},
  /** overallRate: requests per second in all, at a fixed pace (latency then counts from when each was due). */
  options: { overallRate?: number } = {},
): Promise<Load> {
  const bin = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
  const headerArgs = Object.entries(headers).flatMap(([name, value]) => ['-H', `${name}=${value}`]);
  const rate = options.overallRate === undefined ? [] : ['--overallRate', String(options.overallRate)];
  const { stdout } = await run(process.execPath, [bin, '--json', '-c', String(connections), '-d', String(seconds), ...rate, ...headerArgs, url], {
    maxBuffer: 64 * 1024 * 1024,
  });
  const r = JSON.parse(stdout) as {
    requests: { average: number };
    throughput: { average: number };
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return {
    requestsPerSecond: r.requests.average,
    bytesPerSecond: r.throughput.average,
    p50: r.latency.p50,
    p99: r.latency.p99,
    errors: r.errors,
    non2xx: r.non2xx,
  };
}
