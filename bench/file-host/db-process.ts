/**
 * The internal-db of the file-host benchmarks, in its own process (as on its own host): a fresh
 * database, nothing seeded. IPC: parent sends { keys, dir }, child answers { port }.
 */
import { join } from 'node:path';
import { InternalDbService } from '../../services/internal-db/service.js';
import { benchDbOptions } from '../db-options.js';

process.once('message', async ({ keys, dir }: { keys: string[]; dir: string }) => {
  const service = await InternalDbService.start(benchDbOptions(join(dir, 'db'), keys, { synchronous: 'normal', scryptLogN: 14 }));
  process.send!({ port: service.address!.port });
  process.on('disconnect', () => void service.close(1000).then(() => process.exit(0)));
});
