/**
 * The web host's entry point: `node dist/services/web/main.js`. Configuration comes from FFS_*
 * variables (lib/config/CONFIG.md); SIGTERM or SIGINT closes it cleanly.
 */
import { readFile } from 'node:fs/promises';
import { optionsFromConfig } from '../../lib/commlink/index.js';
import { loadKeyBag } from '../../lib/commlink/keybag-file.js';
import { pickFields, type Config } from '../../lib/config/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { isEntryPoint } from '../../lib/service/entry-point.js';
import { runService } from '../../lib/service/run-service.js';
import { HTTP_SETTING_FIELDS, WebService, type WebOptions } from './service.js';
import { readSessionKeys } from './session-keys.js';

/** The web host's options from the configuration: the one mapping, used by main and by npm start. */
export async function webOptionsFromConfig(config: Config, log: Logger): Promise<WebOptions> {
  const { web, internalDb } = config.services;
  return {
    host: web.host,
    commlinkPort: web.commlinkPort,
    internalDb: { mode: internalDb.mode, host: internalDb.host, port: internalDb.commlinkPort, dialListenHost: web.host, dialListenPort: internalDb.dialPort },
    commlink: optionsFromConfig(config.commlink),
    // Both links' bags: the web host is the one host on both links.
    bags: {
      fileHosts: await loadKeyBag(config.commlink.fileHostBagPath, 'commlink.fileHostBagPath'),
      internalDb: await loadKeyBag(config.commlink.internalDbBagPath, 'commlink.internalDbBagPath'),
    },
    ticketPrivateKeyPem: await readFile(config.rsa.privateKeyPath, 'utf8'),
    ticketTtlSeconds: web.ticketTtlSeconds,
    crypto: { threads: web.cryptoThreads, ticketSigning: web.poolTicketSigning, chunkCrypto: web.poolChunkCrypto },
    http: {
      ...pickFields(web, HTTP_SETTING_FIELDS),
      sessionKeys: await readSessionKeys(web.sessionKeyPath),
      workers: web.workers,
    },
    webhooks: web.webhooks,
    log,
  };
}

export function main(): Promise<number> {
  return runService(
    'web',
    async (config, log) => WebService.start(await webOptionsFromConfig(config, log)),
    (web) => ({
      url: web.httpUrl,
      port: web.httpAddress?.port ?? null,
      opsUrl: web.opsUrl,
      opsPort: web.opsAddress?.port ?? null,
      commlinkPort: web.commlinkAddress.port,
      dialPort: web.db.dialAddress?.port ?? null,
    }),
  );
}

if (isEntryPoint(import.meta.url)) {
  main().then((code) => (process.exitCode = code));
}
