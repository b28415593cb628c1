/**
 * Crypto pool benchmark: in the web host's process (WebService; the internal-db and the file host
 * in child processes, as bench/file-host/chain.ts starts them), an upload load (back-to-back
 * `web.fulfillment.ingest` of UPLOAD_MIB streams: the path an HTTP upload takes after koa) runs
 * together with a download-link load (SIGN_CONCURRENCY loops each signing a download URL per
 * turn of the event loop, as the web host does per link, and handing it to a client process
 * that GETs it from the file host). Each configuration — no pool, ticket signing in the pool,
 * chunk sealing in the pool (web host), sealing and opening in pools (web host and file host),
 * all of them — reports upload MB/s, signatures/s, GETs/s and the web process's event-loop
 * delay (p50, p99, max); medians of PARAMS.rounds rounds, with ratios to no pool. A last phase
 * compares SHA-256 of a file on disk on the main thread and in the pool, under the upload load.
 *
 *   npm run build && node dist/bench/web/crypto-pool.js
 */
import { fork, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CryptoPool } from '../../lib/crypto-pool/index.js';
import { PooledTicketSigner } from '../../lib/tickets/index.js';
import { median } from '../commlink/measure.js';
import { startBenchChain, type BenchChain, type BenchChainOptions } from '../file-host/chain.js';
import { runIfMain, toSvg, writeResults, type Result } from '../results.js';

const here = dirname(fileURLToPath(import.meta.url));
const MiB = 1024 * 1024;

/** Fixed, named parameters: change them here, never per run. */
export const PARAMS = Object.freeze({
  /** Each configuration gets its own chain once per pass (passes spread the machine's drift). */
  passes: 2,
  /** Rounds per configuration per pass: medians are over passes × rounds. */
  rounds: 3,
  roundSeconds: 5,
  warmupSeconds: 1.5,
  /** Each upload: one stream of this many MiB, read in UPLOAD_READ_BYTES pieces. */
  uploadMiB: 32,
  uploadReadBytes: 64 * 1024,
  uploadConcurrency: 1,
  /** Download-link loops, each one signature per turn of the event loop. */
  signConcurrency: 8,
  /** The staged file the links point at, and the client's GETs in flight. */
  downloadFileBytes: 64 * 1024,
  getConcurrency: 4,
  /** Web host pool threads; the file host's, when it opens chunks in a pool. */
  webPoolThreads: availableParallelism(),
  fileHostPoolThreads: 1,
  /** SHA-256 phase: a file of this size hashed back to back under the upload load. */
  sha256FileMiB: 64,
  eventLoopResolutionMs: 1,
});

interface Configuration {
  readonly name: string;
  readonly sign: boolean;
  readonly seal: boolean;
  readonly open: boolean;
}

const CONFIGURATIONS: readonly Configuration[] = [
  { name: 'no pool', sign: false, seal: false, open: false },
  { name: 'pool: ticket signing', sign: true, seal: false, open: false },
  { name: 'pool: chunk sealing (web host)', sign: false, seal: true, open: false },
  { name: 'pool: chunk sealing + opening (both hosts)', sign: false, seal: true, open: true },
  { name: 'pool: signing + chunk crypto (both hosts)', sign: true, seal: true, open: true },
];

interface Sample {
  uploadMBs: number;
  signaturesPerSecond: number;
  getsPerSecond: number;
  p50: number;
  p99: number;
  max: number;
}

/** A stream of `total` bytes repeating one block: measures the path, not data generation. */
function uploadSource(total: number, block: Buffer): Readable {
  let left = total;
  return new Readable({
    highWaterMark: block.length,
    read() {
      if (left <= 0) return void this.push(null);
      const n = Math.min(left, block.length);
      left -= n;
      this.push(n === block.length ? block : block.subarray(0, n));
    },
  });
}

class DownloadClient {
  readonly #child: ChildProcess;
  readonly ready: Promise<void>;

  constructor() {
    this.#child = fork(join(here, 'download-client.js'), [], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: { ...process.env, BENCH_GET_CONCURRENCY: String(PARAMS.getConcurrency) },
    });
    this.ready = new Promise((resolve) => this.#child.once('message', () => resolve()));
  }

  get(url: string): void {
    this.#child.send({ url });
  }

  report(): Promise<{ gets: number; errors: number; dropped: number }> {
    return new Promise((resolve) => {
      this.#child.once('message', (m) => resolve(m as { gets: number; errors: number; dropped: number }));
      this.#child.send({ report: true });
    });
  }

  close(): void {
    this.#child.disconnect();
  }
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs `work` back to back on `concurrency` loops until `deadline`; resolves with when the last ended. */
async function loops(concurrency: number, deadline: number, work: () => Promise<void>): Promise<number> {
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < deadline) await work();
    }),
  );
  return performance.now();
}

async function round(chain: BenchChain, client: DownloadClient, path: string, seconds: number, extra?: () => Promise<void>): Promise<Sample> {
  const block = Buffer.alloc(PARAMS.uploadReadBytes, 0x5a);
  const uploadBytes = PARAMS.uploadMiB * MiB;
  let uploaded = 0;
  let signatures = 0;
  await client.report(); // reset
  const delay = monitorEventLoopDelay({ resolution: PARAMS.eventLoopResolutionMs });
  delay.enable();
  const started = performance.now();
  const deadline = started + seconds * 1000;
  const [uploadEnd, signEnd] = await Promise.all([
    loops(PARAMS.uploadConcurrency, deadline, async () => {
      const reply = await chain.web.fulfillment.ingest(uploadSource(uploadBytes, block), { size: uploadBytes });
      if (reply.size !== undefined && reply.size !== uploadBytes) throw new Error(`upload: the file host stored ${String(reply.size)} bytes`);
      uploaded += uploadBytes;
    }),
    extra
      ? loops(1, deadline, extra)
      : loops(PARAMS.signConcurrency, deadline, async () => {
          await nextTurn(); // one link per turn of the loop, as one per HTTP request
          client.get(await chain.web.fulfillment.downloadUrl('bench', path));
          signatures++;
        }),
  ]);
  delay.disable();
  const fetched = await client.report();
  if (fetched.errors > 0) throw new Error(`download client: ${fetched.errors} GETs failed`);
  return {
    uploadMBs: uploaded / 1e6 / ((uploadEnd - started) / 1000),
    signaturesPerSecond: signatures / ((signEnd - started) / 1000),
    getsPerSecond: fetched.gets / ((signEnd - started) / 1000),
    p50: delay.percentile(50) / 1e6,
    p99: delay.percentile(99) / 1e6,
    max: delay.max / 1e6,
  };
}

/** A chain for one configuration, with a file staged for the download links. */
async function startFor(config: Configuration): Promise<{ chain: BenchChain; pool: CryptoPool | undefined; path: string }> {
  const pool = config.sign || config.seal ? new CryptoPool({ maxThreads: PARAMS.webPoolThreads }) : undefined;
  const options: BenchChainOptions = {
    ...(config.sign ? { webSigner: (pem: string) => new PooledTicketSigner(pool!, pem) } : {}),
    ...(config.seal ? { webChunkCrypto: pool } : {}),
    fileHostChunkCryptoThreads: config.open ? PARAMS.fileHostPoolThreads : 0,
  };
  const chain = await startBenchChain(options);
  const objectId = await chain.ingest('link.bin', PARAMS.downloadFileBytes);
  await chain.publish('1.0.0', 'link.bin', objectId, PARAMS.downloadFileBytes);
  const staged = await chain.web.fulfillment.stage('bench', 'acme', '1.0.0');
  return { chain, pool, path: staged.files[0]!.path };
}

async function measureConfiguration(config: Configuration, client: DownloadClient, pass: number): Promise<Sample[]> {
  const { chain, pool, path } = await startFor(config);
  try {
    await round(chain, client, path, PARAMS.warmupSeconds);
    const samples: Sample[] = [];
    for (let r = 0; r < PARAMS.rounds; r++) {
      const s = await round(chain, client, path, PARAMS.roundSeconds);
      samples.push(s);
      process.stderr.write(
        `  ${config.name} pass ${pass + 1} round ${r + 1}: upload ${s.uploadMBs.toFixed(0)} MB/s, ${s.signaturesPerSecond.toFixed(0)} signatures/s, ${s.getsPerSecond.toFixed(0)} GETs/s, event-loop delay p50 ${s.p50.toFixed(2)} p99 ${s.p99.toFixed(2)} max ${s.max.toFixed(1)} ms\n`,
      );
    }
    return samples;
  } finally {
    await chain.close();
    await pool?.close();
  }
}

/** SHA-256 of a file on disk back to back, under the upload load: main thread, then the pool. */
async function measureSha256(client: DownloadClient): Promise<Record<'main' | 'pool', { hashMBs: number[]; samples: Sample[] }>> {
  const { chain, path } = await startFor(CONFIGURATIONS[0]!);
  const pool = new CryptoPool({ maxThreads: PARAMS.webPoolThreads });
  try {
    const size = PARAMS.sha256FileMiB * MiB;
    const objectId = await chain.ingest('hash.bin', size);
    const file = chain.objectPath(objectId);
    const inline = async () => {
      const hash = createHash('sha256');
      for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
      if (hash.digest('hex') !== objectId) throw new Error('sha256: wrong digest');
    };
    const pooled = async () => {
      if ((await pool.sha256File(file)).sha256 !== objectId) throw new Error('sha256: wrong digest');
    };
    const out = { main: { hashMBs: [] as number[], samples: [] as Sample[] }, pool: { hashMBs: [] as number[], samples: [] as Sample[] } };
    for (let r = 0; r < PARAMS.rounds; r++) {
      for (const [name, work] of [
        ['main', inline],
        ['pool', pooled],
      ] as const) {
        let hashed = 0;
        const started = performance.now();
        const s = await round(chain, client, path, PARAMS.roundSeconds, async () => {
          await work();
          hashed += size;
        });
        const mbs = hashed / 1e6 / ((performance.now() - started) / 1000);
        out[name].hashMBs.push(mbs);
        out[name].samples.push(s);
        process.stderr.write(
          `  sha256 on ${name} round ${r + 1}: ${mbs.toFixed(0)} MB/s hashed, upload ${s.uploadMBs.toFixed(0)} MB/s, event-loop delay p99 ${s.p99.toFixed(2)} max ${s.max.toFixed(1)} ms\n`,
        );
      }
    }
    return out;
  } finally {
    await chain.close();
    await pool.close();
  }
}

const round1 = (values: number[]) => values.map((v) => Math.round(v * 100) / 100);

function rows(label: string, samples: Sample[], base: Sample[] | undefined, withSignatures: boolean): Result[] {
  const metric = (name: keyof Sample, suffix: string, unit: string, better: 'higher' | 'lower'): Result => {
    const values = samples.map((s) => s[name]);
    const value = median(values);
    const peerValue = base ? median(base.map((s) => s[name])) : undefined;
    return {
      metric: `${label}: ${suffix}`,
      unit,
      value,
      ...(peerValue !== undefined ? { peer: 'no pool', peerValue, ratio: value / peerValue, peerKind: 'baseline' as const } : {}),
      ...(better === 'lower' ? { better } : {}),
      runs: round1(values),
    };
  };
  return [
    metric('uploadMBs', 'upload', 'MB/s', 'higher'),
    ...(withSignatures ? [metric('signaturesPerSecond', 'signatures', '/s', 'higher'), metric('getsPerSecond', 'download GETs', '/s', 'higher')] : []),
    metric('p50', 'event-loop delay p50', 'ms', 'lower'),
    metric('p99', 'event-loop delay p99', 'ms', 'lower'),
    metric('max', 'event-loop delay max', 'ms', 'lower'),
  ];
}

export async function main(): Promise<Result[]> {
  const client = new DownloadClient();
  await client.ready;
  const results: Result[] = [];
  try {
    const samples = CONFIGURATIONS.map(() => [] as Sample[]);
    for (let pass = 0; pass < PARAMS.passes; pass++) {
      for (const [i, config] of CONFIGURATIONS.entries()) samples[i]!.push(...(await measureConfiguration(config, client, pass)));
    }
    for (const [i, config] of CONFIGURATIONS.entries()) results.push(...rows(config.name, samples[i]!, i === 0 ? undefined : samples[0], true));
    const sha = await measureSha256(client);
    const hashRow = (name: 'main' | 'pool'): Result => ({
      metric: `SHA-256 of a file on disk, ${name === 'main' ? 'main thread' : 'in the pool'}: hashed`,
      unit: 'MB/s',
      value: median(sha[name].hashMBs),
      ...(name === 'pool'
        ? {
            peer: 'main thread',
            peerValue: median(sha.main.hashMBs),
            ratio: median(sha.pool.hashMBs) / median(sha.main.hashMBs),
            peerKind: 'baseline' as const,
          }
        : {}),
      runs: round1(sha[name].hashMBs),
    });
    results.push(hashRow('main'), ...rows('SHA-256 on the main thread', sha.main.samples, undefined, false));
    results.push(
      hashRow('pool'),
      ...rows('SHA-256 in the pool', sha.pool.samples, sha.main.samples, false).map((r) => (r.peer ? { ...r, peer: 'SHA-256 on the main thread' } : r)),
    );
  } finally {
    client.close();
  }
  const intro = [
    `The web host's process (WebService; internal-db and file host in child processes, download client in a third) on ${availableParallelism()} shared cores (${new Date().toISOString().slice(0, 10)}, ${process.version}). Medians of ${PARAMS.passes * PARAMS.rounds} rounds of ${PARAMS.roundSeconds} s per configuration (${PARAMS.passes} passes through the configurations, each starting its own chain, ${PARAMS.rounds} rounds each); ratios are to the no-pool configuration (for event-loop delay, lower is better).`,
    `Upload load: back-to-back \`web.fulfillment.ingest\` of ${PARAMS.uploadMiB} MiB streams (${PARAMS.uploadReadBytes / 1024} KiB reads), ${PARAMS.uploadConcurrency} at a time, into the file host's repository over the commlink (aes-256-gcm). Download-link load at the same time: ${PARAMS.signConcurrency} loops each signing one download URL (RSA-3072 PSS ticket) per turn of the event loop; every URL is fetched from the file host's HTTP endpoint by a client process (${PARAMS.getConcurrency} GETs in flight, ${PARAMS.downloadFileBytes / 1024} KiB file).`,
    `Pool: lib/crypto-pool, ${PARAMS.webPoolThreads} threads in the web host; ${PARAMS.fileHostPoolThreads} in the file host when it opens chunks in a pool. Event-loop delay: perf_hooks.monitorEventLoopDelay (resolution ${PARAMS.eventLoopResolutionMs} ms) over each round in the web host's process.`,
    `SHA-256 phase (${PARAMS.rounds} rounds each, alternating): a ${PARAMS.sha256FileMiB} MiB file on disk hashed back to back (1 MiB reads) on the main thread or by the pool, under the same upload load (no signing).`,
  ].join('\n');
  const dir = join(here, '..', '..', '..', 'bench', 'results');
  await writeResults(dir, 'crypto-pool', 'Crypto pool benchmark (web host)', intro, results);
  // The chart shows each ratio so that > 1 is better: delays as no pool ÷ this.
  const chart = results
    .filter((r) => r.ratio !== undefined)
    .map((r) => (r.better === 'lower' ? { ...r, metric: `${r.metric} (inverse)`, ratio: 1 / r.ratio! } : r));
  await writeFile(join(dir, 'crypto-pool.svg'), toSvg('Crypto pool vs no pool', chart));
  return results;
}

runIfMain(import.meta.url, main);
