/**
 * The web host's entry point (its gateway role; the portal and API come with the front end):
 * `node dist/services/web/main.js`. Configuration comes from FFS_* variables (lib/config/CONFIG.md);
 * SIGTERM or SIGINT closes it cleanly.
 */
import { readFile } from 'node:fs/promises';
import { KeyBag, optionsFromConfig } from '../../lib/commlink/index.js';
import { readKeyBagFile } from '../../lib/commlink/keybag-file.js';
import { loadConfig } from '../../lib/config/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { isEntryPoint } from '../../scripts/cli.js';
import { WebService } from './service.js';

export async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: config.log.level, fields: { service: 'web' } });
  const { web, internalDb } = config.services;
  let service: WebService;
  try {
    service = await WebService.start({
      host: web.host,
      commlinkPort: web.commlinkPort,
      internalDb: { mode: internalDb.mode, host: internalDb.host, port: internalDb.commlinkPort, dialListenHost: web.host, dialListenPort: internalDb.dialPort },
      commlink: { ...optionsFromConfig(config.commlink), bag: new KeyBag(await readKeyBagFile(config.commlink.keyBagPath)) },
      ticketPrivateKeyPem: await readFile(config.rsa.privateKeyPath, 'utf8'),
      ticketTtlSeconds: web.ticketTtlSeconds,
      log,
    });
  } catch (err) {
    log.error('web host failed to start', { err });
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
