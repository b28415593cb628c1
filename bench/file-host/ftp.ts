/**
 * FTP benchmark: curl fetching the same 256 MiB file from the file host's FTP server and, in the
 * same run, from vsftpd (Debian's package); one stream, then 8 parallel streams; rounds alternate;
 * medians. And login latency through the whole auth chain (file host → web host → internal-db):
 * 50 clients log in at once, again and again; the time from PASS to the 230 reply, p50 and p99.
 *   node dist/bench/file-host/ftp.js
 */
import { execFile } from 'node:child_process';
import { createConnection } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from '../commlink/measure.js';
import { writeResults, type Result } from '../results.js';
import { startBenchChain } from './chain.js';
import { VSFTPD_PASSIVE } from './ports.js';
import { startVsftpd, vsftpdBinary } from './vsftpd.js';

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

/** One FTP login over a raw socket: resolves with the ms from sending PASS to reading 230. */
function timedLogin(port: number, user: string, password: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = createConnection(port, '127.0.0.1');
    let buffer = '';
    let passSentAt = 0;
    socket.setEncoding('latin1');
    socket.on('error', reject);
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf('\r\n')) >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 2);
        if (line[3] === '-') continue; // a multi-line reply's first lines
        const code = line.slice(0, 3);
        if (code === '220') socket.write(`USER ${user}\r\n`);
        else if (code === '331') {
          passSentAt = performance.now();
          socket.write(`PASS ${password}\r\n`);
        } else if (code === '230') {
          const ms = performance.now() - passSentAt;
          socket.end('QUIT\r\n');
          resolve(ms);
        } else if (code !== '221') {
          socket.destroy();
          reject(new Error(`login: ${line}`));
        }
      }
    });
  });
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
    await chain.web.db.request('customer.setPassword', { login: 'bench', password: PARAMS.password });
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
        process.stderr.write(`  ${streams} stream(s) round ${round + 1}: file host ${a.at(-1)!.toFixed(0)} MB/s | ${vsftpd.version} ${b.at(-1)!.toFixed(0)} MB/s\n`);
      }
      const label = `FTP 256 MiB, ${streams === 1 ? 'one stream' : `${streams} parallel streams`}`;
      results.push({ metric: label, unit: 'MB/s', value: median(a), peer: vsftpd.version, peerValue: median(b), ratio: median(a) / median(b), runs: a.map(Math.round) });
      results.push({ metric: `${label}: ratio to vsftpd`, unit: '×', value: median(a) / median(b), target: 1, runs: a.map((v, i) => Math.round((v / b[i]!) * 100) / 100) });
    }
    // Login latency: 50 at once through file host → web host → internal-db (password verified
    // once per customer by scrypt, then from the internal-db's cache, as during a working day).
    await timedLogin(chain.ftpPort, 'bench', PARAMS.password);
    const latencies: number[] = [];
    for (let round = 0; round < PARAMS.loginRounds; round++) {
      latencies.push(...(await Promise.all(Array.from({ length: PARAMS.loginClients }, () => timedLogin(chain.ftpPort, 'bench', PARAMS.password)))));
    }
    latencies.sort((x, y) => x - y);
    process.stderr.write(`  logins: p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${percentile(latencies, 99).toFixed(2)} ms (${latencies.length})\n`);
    results.push(
      { metric: `FTP login, ${PARAMS.loginClients} at once: p50 (PASS → 230)`, unit: 'ms', value: percentile(latencies, 50), better: 'lower' },
      { metric: `FTP login, ${PARAMS.loginClients} at once: p99 (PASS → 230)`, unit: 'ms', value: percentile(latencies, 99), target: 10, better: 'lower' },
    );
  } finally {
    await vsftpd.stop();
    await chain.close();
  }
  const intro = [
    `curl (\`-o /dev/null\`, passive mode) fetching a ${PARAMS.fileBytes / 2 ** 20} MiB file in the page cache; ${PARAMS.rounds} rounds alternating between the servers (${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 cores shared by clients and servers); medians. Times include each client's start and login.`,
    `File host: its FTP server, login checked live through the web host with the internal-db. Peer: vsftpd (anonymous, read-only, same files, sendfile). Logins: ${PARAMS.loginClients} clients at once × ${PARAMS.loginRounds} rounds, each timed from PASS sent to 230 read, through file host → web host → internal-db.`,
  ].join('\n');
  await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'ftp', 'FTP benchmark (file host vs vsftpd) and login latency', intro, results);
  return results;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    (results) => {
      for (const r of results) console.log(`${r.metric.padEnd(52)} ${r.value.toFixed(2).padStart(10)} ${r.unit}${r.peerValue === undefined ? '' : `   vsftpd ${r.peerValue.toFixed(2)}`}`);
    },
    (err) => {
      console.error(err);
      process.exit(1);
    },
  );
}
