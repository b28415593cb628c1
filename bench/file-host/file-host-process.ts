/**
 * The file host under benchmark, in its own process (as on its own host). It dials the bench's
 * web host. IPC: parent sends { keys, dir, webPort, publicKeyPem }, child answers { httpPort, sftpPort, ftpPort }.
 */
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { KeyBag } from '../../lib/commlink/index.js';
import { CryptoPool } from '../../lib/crypto-pool/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { FileHostService } from '../../services/ftp/service.js';
import { FTP_PASSIVE } from './ports.js';
import { generateEd25519 } from '../../lib/ssh-keys.js';

interface Setup {
  loginCacheSeconds: number;
  keys: string[];
  dir: string;
  webPort: number;
  publicKeyPem: string;
  /** > 0: commlink chunks are opened and sealed in a crypto pool of this many threads. */
  chunkCryptoThreads?: number;
}

process.once('message', async ({ keys, dir, webPort, publicKeyPem, loginCacheSeconds, chunkCryptoThreads }: Setup) => {
  const pool = chunkCryptoThreads ? new CryptoPool({ maxThreads: chunkCryptoThreads }) : undefined;
  const service = await FileHostService.start({
    name: 'bench-file',
    host: '127.0.0.1',
    httpPort: 0,
    publicHttpUrl: '',
    repositoryDir: join(dir, 'repository'),
    areasDir: join(dir, 'areas'),
    inboxDir: join(dir, 'inbox'),
    allowCrossDevice: false,
    auditBatchSize: 500,
    auditFlushMs: 1000,
    ticketCacheEntries: 10_000,
    openFileCacheMs: 1000,
    httpWorkers: Number(process.env.BENCH_HTTP_WORKERS ?? 0),
    ticketPublicKeyPem: publicKeyPem,
    web: { host: '127.0.0.1', port: webPort },
    commlink: { bag: new KeyBag(keys.map((k) => Buffer.from(k, 'base64'))), ...(pool ? { chunkCrypto: pool } : {}) },
    log: createLogger({ level: 'warn' }),
    sftp: { port: 0, hostKey: generateEd25519().private, workers: availableParallelism() },
    ftp: { port: 0, passivePortMin: FTP_PASSIVE.min, passivePortMax: FTP_PASSIVE.max, passiveAddress: '127.0.0.1', requireTls: false },
    sessions: { maxSessionsPerAddress: 1000, maxSessionsPerCustomer: 1000, defenderThreshold: 1_000_000, loginCacheSeconds },
  });
  process.send!({ httpPort: service.httpAddress.port, sftpPort: service.sftpAddress!.port, ftpPort: service.ftpAddress!.port });
  process.on(
    'disconnect',
    () =>
      void service
        .close(1000)
        .then(() => pool?.close())
        .then(() => process.exit(0)),
  );
});
