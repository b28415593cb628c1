/**
 * The internal-db of the file-host benchmarks, in its own process (as on its own host): a fresh
 * database, nothing seeded. IPC: parent sends { keys, dir }, child answers { port }.
 */
import { join } from 'node:path';
import { KeyBag } from '../../lib/commlink/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { InternalDbService } from '../../services/internal-db/service.js';

process.once('message', async ({ keys, dir }: { keys: string[]; dir: string }) => {
  const service = await InternalDbService.start({
    dbPath: join(dir, 'db', 'bench.sqlite'),
    synchronous: 'normal',
    scryptLogN: 14,
    authCacheSeconds: 300,
    backupDir: join(dir, 'backups'),
    backupIntervalMinutes: 0,
    backupKeep: 1,
    mode: 'listen',
    listenHost: '127.0.0.1',
    listenPort: 0,
    dialHost: '127.0.0.1',
    dialPort: 1,
    commlink: { bag: new KeyBag(keys.map((k) => Buffer.from(k, 'base64'))) },
    log: createLogger({ level: 'warn' }),
  });
  process.send!({ port: service.address!.port });
  process.on('disconnect', () => void service.close(1000).then(() => process.exit(0)));
});
