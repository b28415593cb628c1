/**
 * The web host's entry point (its gateway role; the portal and API come with the front end):
 * `node dist/services/web/main.js`. Configuration comes from FFS_* variables (lib/config/CONFIG.md);
 * SIGTERM or SIGINT closes it cleanly.
 */
import { readFile } from 'node:fs/promises';
import { KeyBag, optionsFromConfig } from '../../lib/commlink/index.js';
import { readKeyBagFile } from '../../lib/commlink/keybag-file.js';
import { isEntryPoint } from '../../scripts/cli.js';
import { runService } from '../../scripts/service-main.js';
import { WebService } from './service.js';

export function main(): Promise<number> {
  return runService('web', async (config, log) => {
    const { web, internalDb } = config.services;
    return WebService.start({
      host: web.host,
      commlinkPort: web.commlinkPort,
      internalDb: { mode: internalDb.mode, host: internalDb.host, port: internalDb.commlinkPort, dialListenHost: web.host, dialListenPort: internalDb.dialPort },
      commlink: { ...optionsFromConfig(config.commlink), bag: new KeyBag(await readKeyBagFile(config.commlink.keyBagPath)) },
      ticketPrivateKeyPem: await readFile(config.rsa.privateKeyPath, 'utf8'),
      ticketTtlSeconds: web.ticketTtlSeconds,
      log,
    });
  });
}

if (isEntryPoint(import.meta.url)) {
  main().then((code) => (process.exitCode = code));
}
