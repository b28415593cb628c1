/**
 * The internal-db service's entry point: `node dist/services/internal-db/main.js`. Configuration
 * comes from FFS_* variables (lib/config/CONFIG.md); SIGTERM or SIGINT closes it cleanly.
 */
import { KeyBag, optionsFromConfig } from '../../lib/commlink/index.js';
import { readKeyBagFile } from '../../lib/commlink/keybag-file.js';
import { loadConfig } from '../../lib/config/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { isEntryPoint } from '../../scripts/cli.js';
import { InternalDbService } from './service.js';

export async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: config.log.level, fields: { service: 'internal-db' } });
  const c = config.services.internalDb;
  let service: InternalDbService;
  try {
    const bag = new KeyBag(await readKeyBagFile(config.commlink.keyBagPath));
    service = await InternalDbService.start({
      ...c,
      listenHost: c.host,
      listenPort: c.commlinkPort,
      commlink: { ...optionsFromConfig(config.commlink), bag },
      log,
    });
  } catch (err) {
    log.error('internal-db failed to start', { err });
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await service.close();
  return 0;
}

if (isEntryPoint(import.meta.url)) {
  main().then((code) => (process.exitCode = code));
}
