/**
 * The file host's entry point: `node dist/services/ftp/main.js`. It dials the web host
 * (services.web.host / commlinkPort) and serves HTTP downloads. Configuration comes from FFS_*
 * variables (lib/config/CONFIG.md); SIGTERM or SIGINT closes it cleanly.
 */
import { readFile } from 'node:fs/promises';
import { KeyBag, optionsFromConfig } from '../../lib/commlink/index.js';
import { readKeyBagFile } from '../../lib/commlink/keybag-file.js';
import { loadConfig } from '../../lib/config/index.js';
import { createLogger } from '../../lib/log/logger.js';
import { isEntryPoint } from '../../scripts/cli.js';
import { FileHostService } from './service.js';

export async function main(): Promise<number> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: config.log.level, fields: { service: 'file-host' } });
  const { ftp, web } = config.services;
  let service: FileHostService;
  try {
    service = await FileHostService.start({
      ...ftp,
      ticketPublicKeyPem: await readFile(config.rsa.publicKeyPath, 'utf8'),
      web: { host: web.host, port: web.commlinkPort },
      commlink: { ...optionsFromConfig(config.commlink), bag: new KeyBag(await readKeyBagFile(config.commlink.keyBagPath)) },
      log,
    });
  } catch (err) {
    log.error('file host failed to start', { err });
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
