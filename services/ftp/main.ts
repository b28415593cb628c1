/**
 * The file host's entry point: `node dist/services/ftp/main.js`. It dials the web host
 * (services.web.host / commlinkPort) and serves HTTP downloads. Configuration comes from FFS_*
 * variables (lib/config/CONFIG.md); SIGTERM or SIGINT closes it cleanly.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { optionsFromConfig } from '../../lib/commlink/index.js';
import { loadKeyBag } from '../../lib/commlink/keybag-file.js';
import { isEntryPoint } from '../../lib/service/entry-point.js';
import { runService } from '../../lib/service/run-service.js';
import { FileHostService } from './service.js';

export function main(): Promise<number> {
  return runService(
    'file-host',
    async (config, log) => {
      const { ftp, web } = config.services;
      return FileHostService.start({
        ...ftp,
        sessions: ftp,
        sftp: { port: ftp.sftpPort, hostKey: await readFile(ftp.sftpHostKeyPath), workers: ftp.sftpWorkers || availableParallelism() },
        ftp: {
          port: ftp.ftpPort,
          passivePortMin: ftp.ftpPassivePortMin,
          passivePortMax: ftp.ftpPassivePortMax,
          passiveAddress: ftp.ftpPassiveAddress,
          requireTls: ftp.ftpRequireTls,
          tls: { cert: await readFile(ftp.ftpTlsCertPath, 'utf8'), key: await readFile(ftp.ftpTlsKeyPath, 'utf8') },
        },
        ops: ftp.opsPort === -1 ? undefined : { host: ftp.opsHost, port: ftp.opsPort },
        ticketPublicKeyPem: await readFile(config.rsa.publicKeyPath, 'utf8'),
        web: { host: web.host, port: web.commlinkPort },
        // The bag of the web host ↔ file host link only: it opens no other link.
        commlink: { ...optionsFromConfig(config.commlink), bag: await loadKeyBag(config.commlink.fileHostBagPath, 'commlink.fileHostBagPath') },
        log,
      });
    },
    (host) => ({
      name: host.name,
      url: host.httpUrl,
      httpPort: host.httpAddress.port,
      ftpPort: host.ftpAddress?.port ?? null,
      sftpPort: host.sftpAddress?.port ?? null,
      opsPort: host.opsAddress?.port ?? null,
    }),
  );
}

if (isEntryPoint(import.meta.url)) {
  main().then((code) => (process.exitCode = code));
}
