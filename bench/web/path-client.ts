/**
 * The full-path client, in a process of its own: `concurrency` customers, each in a loop for
 * `seconds`: GET the web host's download endpoint (303), GET the Location on the file host, read
 * the body to its end. Keep-alive agents to each host. Reports completed downloads/s, body MB/s and
 * the latency of the whole path (p50, p99, ms).
 */
import { Agent, request } from 'node:http';

export interface PathLoad {
  downloadsPerSecond: number;
  bytesPerSecond: number;
  p50: number;
  p99: number;
  errors: number;
}

interface Job {
  url: string;
  headers: Record<string, string>;
  seconds: number;
  concurrency: number;
}

const agents = new Map<string, Agent>();
function agentFor(url: URL, concurrency: number): Agent {
  let agent = agents.get(url.host);
  if (!agent) agents.set(url.host, (agent = new Agent({ keepAlive: true, maxSockets: concurrency })));
  return agent;
}

function get(url: string, headers: Record<string, string>, concurrency: number): Promise<{ status: number; location: string | undefined; bytes: number }> {
  return new Promise((resolve, reject) => {
    const target = new URL(url);
    const req = request(target, { agent: agentFor(target, concurrency), headers }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.length));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, location: res.headers.location, bytes }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function run(job: Job): Promise<PathLoad> {
  const latencies: number[] = [];
  let bytes = 0;
  let errors = 0;
  const deadline = performance.now() + job.seconds * 1000;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: job.concurrency }, async () => {
      while (performance.now() < deadline) {
        const t0 = performance.now();
        try {
          const first = await get(job.url, job.headers, job.concurrency);
          if (first.status !== 303 || !first.location) throw new Error(`expected 303, got ${first.status}`);
          const file = await get(first.location, {}, job.concurrency);
          if (file.status !== 200) throw new Error(`download: ${file.status}`);
          bytes += file.bytes;
          latencies.push(performance.now() - t0);
        } catch {
          errors++;
        }
      }
    }),
  );
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const at = (q: number) => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))] ?? NaN;
  return { downloadsPerSecond: latencies.length / elapsed, bytesPerSecond: bytes / elapsed, p50: at(0.5), p99: at(0.99), errors };
}

process.on('message', (job: Job) => {
  run(job).then(
    (result) => {
      process.send!(result);
      for (const agent of agents.values()) agent.destroy();
    },
    (err: Error) => process.send!({ error: err.message }),
  );
});
