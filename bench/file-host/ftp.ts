/**
 * FTP benchmark: curl fetching the same 256 MiB file from the file host's FTP server and, in the
 * same run, from vsftpd (Debian's package); one stream, then 8 parallel streams; rounds alternate;
 * medians. And login latency through the whole auth chain (file host → web host → internal-db):
 * 50 clients log in at once, again and again; the time from PASS to the 230 reply, p50 and p99.
 *   node dist/bench/file-host/ftp.js
 */
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from '../commlink/measure.js';
import { runIfMain, writeResults, type Result } from '../results.js';
import { startBenchChain } from './chain.js';
import { VSFTPD_PASSIVE } from './ports.js';
import { startVsftpd, vsftpdBinary } from './vsftpd.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  fileBytes: 256 * 1024 * 1024,
  rounds: 3,
  parallel: 8,
  loginClients: 50,
  loginRounds: 20,
  password: 'bench password 1',
});

async function fetchAll(url: string, streams: number): Promise<number> {
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, () => run('curl', ['-sS', '--fail', '-o', '/dev/null', url], { timeout: 600_000 })));
  return (streams * PARAMS.fileBytes) / 1e6 / ((performance.now() - started) / 1000);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

export async function main(): Promise<Result[]> {
  if (!vsftpdBinary()) throw new Error('the FTP benchmark needs vsftpd: apt-get install vsftpd');
  const chain = await startBenchChain();
  const vsftpd = await startVsftpd(chain.dir, join(chain.dir, 'areas', 'bench'), VSFTPD_PASSIVE);
  const results: Result[] = [];
  try {
    await chain.web.db.ask(InternalDb.customerSetPassword, { login: 'bench', password: PARAMS.password });
    const filename = 'acme-256MiB.bin';
    const objectId = await chain.ingest(filename, PARAMS.fileBytes);
    await chain.publish('1.0.0', filename, objectId, PARAMS.fileBytes);
    await chain.web.fulfillment.stage('bench', 'acme', '1.0.0');
    const ours = `ftp://bench:${encodeURIComponent(PARAMS.password)}@127.0.0.1:${chain.ftpPort}/acme/1.0.0/${filename}`;
    const theirs = `ftp://127.0.0.1:${vsftpd.port}/acme/1.0.0/${filename}`;
    await fetchAll(ours, 1); // warm-up, page cache included
    await fetchAll(theirs, 1);
    for (const streams of [1, PARAMS.parallel]) {
      const a: number[] = [];
      const b: number[] = [];
      for (let round = 0; round < PARAMS.rounds; round++) {
        a.push(await fetchAll(ours, streams));
        b.push(await fetchAll(theirs, streams));
        process.stderr.write(
          `  ${streams} stream(s) round ${round + 1}: file host ${a.at(-1)!.toFixed(0)} MB/s | ${vsftpd.version} ${b.at(-1)!.toFixed(0)} MB/s\n`,
        );
      }
      const label = `FTP 256 MiB, ${streams === 1 ? 'one stream' : `${streams} parallel streams`}`;
      results.push({
        metric: label,
        unit: 'MB/s',
        value: median(a),
        peer: vsftpd.version,
        peerValue: median(b),
        ratio: median(a) / median(b),
        runs: a.map(Math.round),
      });
      results.push({
        metric: `${label}: ratio to vsftpd`,
        unit: '×',
        value: median(a) / median(b),
        target: 1,
        runs: a.map((v, i) => Math.round((v / b[i]!) * 100) / 100),
      });
    }
  } finally {
    await vsftpd.stop();
    await chain.close();
  }
  results.push(...(await loginLatency()));
  const intro = [
    `curl (\`-o /dev/null\`, passive mode) fetching a ${PARAMS.fileBytes / 2 ** 20} MiB file in the page cache; ${PARAMS.rounds} rounds alternating between the servers (${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 cores shared by clients and servers); medians. Times include each client's start and login.`,
    'File host: its FTP server (RETR by sendfile), login checked through the web host with the internal-db. Peer: vsftpd (anonymous, read-only, same files, sendfile).',
    `Logins: ${PARAMS.loginClients} customers log in at once, ${PARAMS.loginRounds} times over, each timed from PASS sent to 230 read. "Every login checked": the file host's login cache off, so each login is file host → web host → internal-db (auth.check, the password verified from the internal-db's cache after a first scrypt) → area pruned. "Default": loginCacheSeconds 60 (a revocation takes effect within it, at once when the web host prunes).`,
  ].join('\n');
  await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'ftp', 'FTP benchmark (file host vs vsftpd) and login latency', intro, results);
  return results;
}

/** p50/p99 of logins, 50 customers at once, with the login cache off and with the default. */
export async function loginLatency(): Promise<Result[]> {
  const results: Result[] = [];
  for (const [label, cache] of [
    ['every login checked through the chain', 0],
    ['default login cache (60 s)', 60],
  ] as const) {
    const chain = await startBenchChain({ loginCacheSeconds: cache });
    try {
      const logins = Array.from({ length: PARAMS.loginClients }, (_, i) => `login-${i}`);
      await Promise.all(
        logins.map(async (login) => {
          await chain.web.db.ask(InternalDb.customerCreate, { login, name: login, password: PARAMS.password });
          await chain.web.db.ask(InternalDb.entitlementGrant, { customer: login, product: 'acme' });
        }),
      );
      // The client runs in a process of its own, so its clock is not held up by the web host and
      // the internal-db, which run in this one. Its first round (scrypt once per customer in the
      // internal-db, the day's first login) is not counted.
      const { stdout } = await run(
        process.execPath,
        [join(here, 'login-client.js'), String(chain.ftpPort), PARAMS.password, String(PARAMS.loginRounds), ...logins],
        { maxBuffer: 16 * 1024 * 1024 },
      );
      const latencies = (JSON.parse(stdout) as number[]).sort((x, y) => x - y);
      const p50 = percentile(latencies, 50);
      const p99 = percentile(latencies, 99);
      process.stderr.write(`  logins, ${label}: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms (${latencies.length})\n`);
      results.push(
        { metric: `FTP login, ${PARAMS.loginClients} customers at once, ${label}: p50`, unit: 'ms', value: p50, better: 'lower' },
        { metric: `FTP login, ${PARAMS.loginClients} customers at once, ${label}: p99`, unit: 'ms', value: p99, target: 10, better: 'lower' },
      );
    } finally {
      await chain.close();
    }
  }
  return results;
}

runIfMain(import.meta.url, main);
