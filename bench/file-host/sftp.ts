/**
 * SFTP benchmark: OpenSSH's `sftp` client fetching the same 256 MiB file from the file host's SFTP
 * server and, in the same run, from OpenSSH's sshd with internal-sftp; one stream, then 8 parallel
 * streams (8 clients at once). Key login on both; the same cipher on both (aes128-gcm, which both
 * run in hardware); rounds alternate; medians.
 *   node dist/bench/file-host/sftp.js
 */
import { execFile } from 'node:child_process';
import { chmodSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { median } from '../commlink/measure.js';
import { runIfMain, writeResults, type Result } from '../results.js';
import { startBenchChain } from './chain.js';
import { sshdBinary, startSshd } from './sshd.js';
import { generateEd25519 } from '../../lib/ssh-keys.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';

const here = dirname(fileURLToPath(import.meta.url));
const run = promisify(execFile);

/** Fixed, named parameters. */
export const PARAMS = Object.freeze({
  fileBytes: 256 * 1024 * 1024,
  rounds: 3,
  parallel: 8,
  cipher: 'aes128-gcm@openssh.com',
});

async function fetchAll(dir: string, port: number, user: string, path: string, streams: number): Promise<number> {
  const batch = join(dir, 'batch');
  writeFileSync(batch, `get ${path} /dev/null\n`);
  const args = [
    '-b',
    batch,
    '-P',
    String(port),
    '-i',
    join(dir, 'id'),
    '-c',
    PARAMS.cipher,
    '-o',
    'StrictHostKeyChecking=no',
    '-o',
    'UserKnownHostsFile=/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'LogLevel=ERROR',
    `${user}@127.0.0.1`,
  ];
  const started = performance.now();
  await Promise.all(Array.from({ length: streams }, () => run('sftp', args, { timeout: 600_000 })));
  const seconds = (performance.now() - started) / 1000;
  return (streams * PARAMS.fileBytes) / 1e6 / seconds;
}

export async function main(): Promise<Result[]> {
  if (!sshdBinary()) throw new Error('the SFTP benchmark needs OpenSSH sshd: apt-get install openssh-server');
  const chain = await startBenchChain();
  const key = generateEd25519('bench');
  writeFileSync(join(chain.dir, 'id'), key.private);
  chmodSync(join(chain.dir, 'id'), 0o600);
  const sshd = await startSshd(chain.dir, key.public);
  const results: Result[] = [];
  try {
    await chain.web.db.ask(InternalDb.sshKeyAdd, { login: 'bench', publicKey: key.public });
    const filename = 'acme-256MiB.bin';
    const objectId = await chain.ingest(filename, PARAMS.fileBytes);
    await chain.publish('1.0.0', filename, objectId, PARAMS.fileBytes);
    await chain.web.fulfillment.stage('bench', 'acme', '1.0.0');
    const ours = `/acme/1.0.0/${filename}`;
    const theirs = join(chain.dir, 'areas', 'bench', 'acme', '1.0.0', filename);
    await fetchAll(chain.dir, chain.sftpPort, 'bench', ours, 1); // warm-up, page cache included
    await fetchAll(chain.dir, sshd.port, sshd.user, theirs, 1);
    for (const streams of [1, PARAMS.parallel]) {
      const a: number[] = [];
      const b: number[] = [];
      for (let round = 0; round < PARAMS.rounds; round++) {
        a.push(await fetchAll(chain.dir, chain.sftpPort, 'bench', ours, streams));
        b.push(await fetchAll(chain.dir, sshd.port, sshd.user, theirs, streams));
        process.stderr.write(
          `  ${streams} stream(s) round ${round + 1}: file host ${a.at(-1)!.toFixed(0)} MB/s | ${sshd.version} ${b.at(-1)!.toFixed(0)} MB/s\n`,
        );
      }
      results.push({
        metric: `SFTP 256 MiB, ${streams === 1 ? 'one stream' : `${streams} parallel streams`}`,
        unit: 'MB/s',
        value: median(a),
        peer: `${sshd.version} internal-sftp`,
        peerValue: median(b),
        ratio: median(a) / median(b),
        runs: a.map(Math.round),
      });
      results.push({
        metric: `SFTP 256 MiB, ${streams === 1 ? 'one stream' : `${streams} parallel streams`}: ratio to OpenSSH`,
        unit: '×',
        value: median(a) / median(b),
        target: 1,
        runs: a.map((v, i) => Math.round((v / b[i]!) * 100) / 100),
      });
    }
  } finally {
    await sshd.stop();
    await chain.close();
  }
  const intro = [
    `OpenSSH's \`sftp\` client (batch mode, \`get\` to /dev/null, default request size and queue), cipher ${PARAMS.cipher}, key login, ${PARAMS.fileBytes / 2 ** 20} MiB file in the page cache; ${PARAMS.rounds} rounds alternating between the servers (${new Date().toISOString().slice(0, 10)}, ${process.version}, 2 cores shared by clients and servers); medians. Times include each client's start, handshake and login.`,
    "File host: the ssh2-based SFTP server in worker processes (one per core), login checked through the web host with the internal-db, file served from the customer's area through the path resolver. Peer: OpenSSH sshd with internal-sftp (a process per connection) on the same machine, same file by its path on disk.",
  ].join('\n');
  await writeResults(join(here, '..', '..', '..', 'bench', 'results'), 'sftp', 'SFTP benchmark (file host vs OpenSSH)', intro, results);
  return results;
}

runIfMain(import.meta.url, main);
