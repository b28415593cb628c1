/**
 * Commlink benchmark: for each cipher suite, on one connection between two processes on
 * loopback, measures serial round trips/s, pipelined requests/s and bulk MB/s, each the median of
 * PARAMS.runs runs. Bulk is compared with TLS 1.3 (AES-256-GCM) carrying the same bytes.
 *
 *   npm run build && node dist/bench/commlink/run.js
 */
import { execFileSync, fork } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommlinkClient, KeyBag } from '../../lib/commlink/index.js';
import { SUITE_NAMES, type SuiteName } from '../../lib/commlink/suites/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { bulk, median, PARAMS, pipelined, serialRoundTrips, tlsBulk, tlsSerialRoundTrips } from './measure.js';
import { writeResults, type Result } from '../results.js';

const here = dirname(fileURLToPath(import.meta.url));
const TARGETS: Partial<Record<SuiteName, { serial: number; pipelined: number; bulk: number }>> = {
  'aes-256-gcm': { serial: 5_000, pipelined: 50_000, bulk: 300 },
};

function makeTlsCert(dir: string): { key: string; cert: string } | undefined {
  const key = join(dir, 'key.pem');
  const cert = join(dir, 'cert.pem');
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=localhost'],
      { stdio: 'ignore' },
    );
    return { key, cert };
  } catch {
    return undefined; // no openssl: bulk is reported without its TLS peer
  }
}

async function benchSuite(suite: SuiteName, keys: Buffer[], tls: { key: string; cert: string } | undefined): Promise<Result[]> {
  const child = fork(join(here, 'server-process.js'), [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const ports = await new Promise<{ commlinkPort: number; tlsPort: number; tlsEchoPort: number }>((resolve, reject) => {
      child.once('message', (m) => resolve(m as { commlinkPort: number; tlsPort: number; tlsEchoPort: number }));
      child.once('exit', (code) => reject(new Error(`bench server exited with ${code}`)));
      child.send({ keys: keys.map((k) => k.toString('base64')), suite, tlsKeyPath: tls?.key, tlsCertPath: tls?.cert });
    });
    const client = new CommlinkClient({ host: '127.0.0.1', port: ports.commlinkPort, bag: new KeyBag(keys), suite, log: createLogger({ level: 'warn' }) });
    await client.connect();
    await serialRoundTrips(client, 0.5); // warm up
    await pipelined(client, 0.5, PARAMS.pipelineDepth);
    const serial: number[] = [];
    const piped: number[] = [];
    const bulkRuns: number[] = [];
    const tlsRuns: number[] = [];
    const tlsSerial: number[] = [];
    for (let run = 0; run < PARAMS.runs; run++) {
      serial.push(await serialRoundTrips(client, PARAMS.serialSeconds));
      if (ports.tlsEchoPort) tlsSerial.push(await tlsSerialRoundTrips(ports.tlsEchoPort, PARAMS.serialSeconds));
      piped.push(await pipelined(client, PARAMS.pipelinedSeconds, PARAMS.pipelineDepth));
      bulkRuns.push(await bulk(client, PARAMS.bulkBytes, PARAMS.bulkChunkBytes));
      if (ports.tlsPort) tlsRuns.push(await tlsBulk(ports.tlsPort, PARAMS.bulkBytes, PARAMS.bulkChunkBytes));
      process.stderr.write(
        `  ${suite} run ${run + 1}/${PARAMS.runs}: serial ${serial.at(-1)!.toFixed(0)}/s${tlsSerial.length ? ` (tls echo ${tlsSerial.at(-1)!.toFixed(0)}/s)` : ''}, pipelined ${piped.at(-1)!.toFixed(0)}/s, bulk ${bulkRuns.at(-1)!.toFixed(0)} MB/s${tlsRuns.length ? `, tls ${tlsRuns.at(-1)!.toFixed(0)} MB/s` : ''}\n`,
      );
    }
    await client.close();
    const target = TARGETS[suite];
    const round = (values: number[]) => values.map((v) => Math.round(v * 10) / 10);
    const results: Result[] = [
      { metric: `${suite} serial round trips`, unit: 'req/s', value: median(serial), target: target?.serial, runs: round(serial) },
      { metric: `${suite} pipelined requests`, unit: 'req/s', value: median(piped), target: target?.pipelined, runs: round(piped) },
      { metric: `${suite} bulk stream`, unit: 'MB/s', value: median(bulkRuns), target: target?.bulk, runs: round(bulkRuns) },
    ];
    const serialResult = results[0] as Result;
    if (tlsSerial.length) {
      serialResult.peer = 'TLS 1.3 AES-256-GCM JSON-lines echo (node:tls)';
      serialResult.peerValue = median(tlsSerial);
      serialResult.ratio = serialResult.value / serialResult.peerValue;
    }
    const bulkResult = results[2] as Result;
    if (tlsRuns.length) {
      bulkResult.peer = 'TLS 1.3 AES-256-GCM (node:tls), same bytes';
      bulkResult.peerValue = median(tlsRuns);
      bulkResult.ratio = bulkResult.value / bulkResult.peerValue;
    }
    return results.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined)) as unknown as Result);
  } finally {
    child.kill();
  }
}

export async function main(): Promise<Result[]> {
  const keys = Array.from({ length: 128 }, () => randomBytes(32));
  const tmp = mkdtempSync(join(tmpdir(), 'ffs-bench-'));
  try {
    const tls = makeTlsCert(tmp);
    const results: Result[] = [];
    for (const suite of SUITE_NAMES) results.push(...(await benchSuite(suite, keys, tls)));
    const intro = [
      `One commlink connection between two processes on loopback (${new Date().toISOString().slice(0, 10)}, ${process.version}).`,
      `Medians of ${PARAMS.runs} runs. Serial: one request in flight, ${PARAMS.serialSeconds} s per run. Pipelined: batches of ${PARAMS.pipelineDepth.toLocaleString('en-US')} requests in flight, ${PARAMS.pipelinedSeconds} s per run.`,
      'Serial peer: the same request as one JSON line over TLS 1.3, parsed and echoed (an RPC with no framing, pairing or typing of its own), same machine, same run: the machine is shared and its speed varies between runs, so the ratio is the steadier figure.',
      `Bulk: one ${PARAMS.bulkBytes / 1024 / 1024} MiB stream in ${PARAMS.bulkChunkBytes / 1024} KiB reads, credit flow control; the peer is TLS 1.3 carrying the same bytes on the same machine in the same run.`,
      `Request body: ${JSON.stringify(PARAMS.requestBody)} (echoed back).`,
    ].join('\n');
    await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'commlink', 'Commlink (FFS/1) benchmark', intro, results);
    return results;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (results) => {
      for (const r of results)
        console.log(`${r.metric.padEnd(46)} ${r.value.toFixed(0).padStart(10)} ${r.unit}${r.ratio ? `  (${r.ratio.toFixed(2)}× ${r.peer})` : ''}`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
