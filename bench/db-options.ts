import { join } from 'node:path';
import { KeyBag } from '../lib/commlink/index.js';
import { createLogger } from '../lib/log/logger.js';
import type { InternalDbOptions } from '../services/internal-db/service.js';

/**
 * An internal-db for a benchmark's child process: a database in `dir`, listening on a free loopback
 * port, with the key bag the parent sent (base64 keys). `overrides` set what the benchmark measures.
 */
export function benchDbOptions(dir: string, keys: string[], overrides: Partial<InternalDbOptions> = {}): InternalDbOptions {
  return {
    dbPath: join(dir, 'bench.sqlite'),
    synchronous: 'full',
    scryptLogN: 15,
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
    ...overrides,
  };
}
