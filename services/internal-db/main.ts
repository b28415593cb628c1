/**
 * The internal-db service's entry point: `node dist/services/internal-db/main.js`. Configuration
 * comes from FFS_* variables (lib/config/CONFIG.md); SIGTERM or SIGINT closes it cleanly.
 */
import { optionsFromConfig } from '../../lib/commlink/index.js';
import { loadKeyBag } from '../../lib/commlink/keybag-file.js';
import { isEntryPoint } from '../../lib/service/entry-point.js';
import { runService } from '../../lib/service/run-service.js';
import { InternalDbService } from './service.js';

export function main(): Promise<number> {
  return runService(
    'internal-db',
    async (config, log) => {
      const c = config.services.internalDb;
      // The bag of the web host ↔ internal-db link only: a file host's bag cannot open this link.
      const bag = await loadKeyBag(config.commlink.internalDbBagPath, 'commlink.internalDbBagPath');
      return InternalDbService.start({ ...c, listenHost: c.host, listenPort: c.commlinkPort, commlink: { ...optionsFromConfig(config.commlink), bag }, log });
    },
    (db) => ({ commlinkPort: db.address?.port ?? null }),
  );
}

if (isEntryPoint(import.meta.url)) {
  main().then((code) => (process.exitCode = code));
}
