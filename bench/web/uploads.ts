/**
 * Upload throughput: a vendor's artifact upload (`PUT /api/v1/products/<p>/releases/<v>/artifacts/<f>`,
 * curl -T, Content-Length declared) through the web host (koa), relayed as a commlink bulk stream
 * (encrypted, 7-bit framed) to the file host, which hashes, writes, fsyncs and links it into the
 * repository; then recorded as an artifact in the internal-db. In the same run, nginx receives the
 * same file by WebDAV PUT (written to a temporary file and renamed; no hash, no fsync, no relay).
 *   node dist/bench/web/uploads.js
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import { median } from '../commlink/measure.js';
import { startBenchChain } from '../file-host/chain.js';
import { nginxBinary, startNginx } from '../file-host/nginx.js';
import { runIfMain, writeResults, type Result } from '../results.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  rounds: 3,
  bytes: 256 * 1024 * 1024,
  /** Single-stream throughput target through web → commlink → file host, MB/s. */
  targetMBs: 200,
});

/** CPU seconds (user + system) a process has used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** curl -T: seconds the whole upload took, and the HTTP status. */
async function curlPut(url: string, file: string, headers: string[]): Promise<{ seconds: number; status: number }> {
  const { stdout } = await run('curl', ['-sS', '-o', '/dev/null', '-w', '%{time_total} %{http_code}', '-T', file, ...headers.flatMap((h) => ['-H', h]), url], {
    maxBuffer: 1024 * 1024,
  });
  const [seconds, status] = stdout.trim().split(' ');
  return { seconds: Number(seconds), status: Number(status) };
}

export async function main(): Promise<Result[]> {
  if (!nginxBinary()) throw new Error('this benchmark needs nginx: apt-get install nginx-light');
  const chain = await startBenchChain({ webHttp: true });
  const davDir = join(chain.dir, 'dav');
  mkdirSync(join(davDir, 'tmp'), { recursive: true });
  chmodSync(davDir, 0o777); // nginx's workers run as an unprivileged user
  chmodSync(join(davDir, 'tmp'), 0o777);
  const nginx = await startNginx(
    chain.dir,
    join(chain.dir, 'areas', 'bench'),
    'auto',
    () => `    location /upload/ { alias ${davDir}/; dav_methods PUT; create_full_put_path on; client_max_body_size 0; client_body_temp_path ${davDir}/tmp; }`,
  );
  const file = join(chain.dir, 'upload.bin');
  const handle = await open(file, 'w');
  const block = randomBytes(1024 * 1024);
  for (let n = 0; n < PARAMS.bytes / block.length; n++) {
    block.writeUInt32BE(n, 0);
    await handle.write(block);
  }
  await handle.close();
  const { token } = await chain.web.db.ask(InternalDb.tokenCreate, { kind: 'vendor', owner: 'Bench Vendor', label: 'bench' });
  const ours: number[] = [];
  const peer: number[] = [];
  const webCpu: number[] = [];
  const fileCpu: number[] = [];
  const mb = PARAMS.bytes / 1e6;
  try {
    for (let round = 0; round < PARAMS.rounds + 1; round++) {
      const version = `9.0.${round}`;
      await chain.web.db.ask(InternalDb.releaseCreate, { product: 'acme', version });
      // Each round's file differs in its first bytes, so the repository stores it anew (no dedupe).
      const head = await open(file, 'r+');
      await head.write(randomBytes(16), 0, 16, 0);
      await head.close();
      const before = [cpuSeconds(process.pid), cpuSeconds(chain.child.pid!)];
      const a = await curlPut(`${chain.web.httpUrl}/api/v1/products/acme/releases/${version}/artifacts/acme-${version}.bin`, file, [
        `Authorization: Bearer ${token}`,
        'Content-Type: application/octet-stream',
      ]);
      const after = [cpuSeconds(process.pid), cpuSeconds(chain.child.pid!)];
      const b = await curlPut(`http://127.0.0.1:${nginx.port}/upload/${version}.bin`, file, []);
      if (a.status !== 201 || b.status !== 201) throw new Error(`upload failed: ours ${a.status}, nginx ${b.status}`);
      rmSync(join(davDir, `${version}.bin`), { force: true });
      if (round === 0) continue; // warm-up
      ours.push(mb / a.seconds);
      webCpu.push(((after[0]! - before[0]!) * 1000) / mb);
      fileCpu.push(((after[1]! - before[1]!) * 1000) / mb);
      peer.push(mb / b.seconds);
      process.stderr.write(
        `  round ${round}: web → commlink → file host ${(mb / a.seconds).toFixed(0)} MB/s | nginx WebDAV PUT ${(mb / b.seconds).toFixed(0)} MB/s\n`,
      );
    }
  } finally {
    await nginx.stop();
    await chain.close();
  }
  const results: Result[] = [
    {
      metric: `upload ${PARAMS.bytes / 2 ** 20} MiB, one stream (curl -T)`,
      unit: 'MB/s',
      value: median(ours),
      peer: nginx.version,
      peerValue: median(peer),
      ratio: median(ours) / median(peer),
      target: PARAMS.targetMBs,
      runs: ours.map(Math.round),
    },
    {
      metric: 'web host CPU per upload MB (HTTP in, seal, filter, relay)',
      unit: 'ms/MB',
      value: median(webCpu),
      better: 'lower',
      runs: webCpu.map((v) => Math.round(v * 100) / 100),
    },
    {
      metric: 'file host CPU per upload MB (open, SHA-256, write, fsync)',
      unit: 'ms/MB',
      value: median(fileCpu),
      better: 'lower',
      runs: fileCpu.map((v) => Math.round(v * 100) / 100),
    },
  ];
  const intro = [
    `curl -T of a ${PARAMS.bytes / 2 ** 20} MiB file, Content-Length declared, ${PARAMS.rounds} rounds after a warm-up, alternating (${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 cores shared by client and servers); medians.`,
    'Ours: the web host (koa, vendor token, ownership and draft checks) in the benchmark process streams the body as a commlink bulk stream (aes-256-gcm, base64 lines, credit flow control) to the file host in its own process, which hashes (SHA-256), writes, fsyncs and links it into the repository; the internal-db records the artifact.',
    "CPU per MB: user + system time of the web host's process and of the file host's process during each upload, per MB uploaded (so the machine's share of the two cores left to the client and other processes does not blur it).",
    `Peer: nginx (${nginx.version}) WebDAV PUT of the same file into a directory (client body to a temporary file, then renamed; no hash, no fsync, no second host).`,
  ].join('\n');
  await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'uploads', 'Uploads: web → commlink → file host vs nginx PUT', intro, results);
  return results;
}

runIfMain(import.meta.url, main);
