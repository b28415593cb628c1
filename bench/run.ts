/** Runs every benchmark in turn; each writes its own files to bench/results/. */
import { main as commlink } from './commlink/run.js';
import { main as internalDb } from './internal-db/run.js';
import { main as httpDownloads } from './file-host/http.js';
import { main as ftp } from './file-host/ftp.js';
import { main as sftp } from './file-host/sftp.js';
import { main as staging } from './file-host/staging.js';
import { main as cryptoPool } from './web/crypto-pool.js';
import { main as entitledDownloads } from './web/entitled-downloads.js';
import { main as uploads } from './web/uploads.js';

const benchmarks: [string, () => Promise<unknown>][] = [
  ['commlink', commlink],
  ['internal-db', internalDb],
  ['staging', staging],
  ['http-downloads', httpDownloads],
  ['sftp', sftp],
  ['ftp', ftp],
  ['entitled-downloads', entitledDownloads],
  ['uploads', uploads],
  ['crypto-pool', cryptoPool],
];

for (const [name, run] of benchmarks) {
  process.stderr.write(`== ${name}\n`);
  await run();
}
process.stderr.write('results written to bench/results/\n');
