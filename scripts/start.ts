/**
 * `npm start`: sets up what is missing (key bag, ticket RSA key pair) and runs what is built so
 * far on loopback: today the internal-db service, listening for the web host's commlink, proved
 * by a round trip (`db.info`) before its address is printed. Ctrl-C or SIGTERM closes it cleanly.
 */
import { CommlinkClient, KeyBag, optionsFromConfig } from '../lib/commlink/index.js';
import { readKeyBagFile } from '../lib/commlink/keybag-file.js';
import { loadConfig } from '../lib/config/index.js';
import { createLogger } from '../lib/log/logger.js';
import { seedDemo } from '../services/internal-db/demo.js';
import { InternalDbService } from '../services/internal-db/service.js';
import { errorText, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';
import { main as genKeybag } from './gen-keybag.js';
import { main as genRsa } from './gen-rsa.js';

const NOT_BUILT = ['file host (repository, staging, HTTP/FTP/SFTP downloads)', 'web host (portal, API, gateway)', 'supervisor for all three'];

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const { env, cwd, out, err } = resolveIo(io);
  if (argv.length > 0) {
    err('usage: start   (configure with FFS_* environment variables; see lib/config/CONFIG.md)');
    return 2;
  }
  let config;
  try {
    config = loadConfig({ env, cwd });
  } catch (e) {
    err(errorText(e));
    return 2;
  }
  for (const [name, step] of [['gen-keybag', genKeybag], ['gen-rsa', genRsa]] as const) {
    const code = await step([], io);
    if (code !== 0) {
      err(`start: ${name} failed (exit ${code})`);
      return code;
    }
  }
  const log = createLogger({ level: config.log.level, fields: { service: 'internal-db' } });
  const bag = new KeyBag(await readKeyBagFile(config.commlink.keyBagPath));
  const commlink = { ...optionsFromConfig(config.commlink), bag };
  const c = config.services.internalDb;
  let service: InternalDbService;
  try {
    service = await InternalDbService.start({ ...c, mode: 'listen', listenHost: c.host, listenPort: c.commlinkPort, commlink, log });
  } catch (e) {
    err(`start: the internal-db cannot start on ${c.host}:${c.commlinkPort}: ${errorText(e)} (set FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT)`);
    return 1;
  }
  const demo = await seedDemo(service.store); // a fresh database gets demo data; shown this once
  const { port } = service.address!;
  const probe = new CommlinkClient({ ...commlink, host: c.host, port, log });
  const info = await probe.request('db.info', {}, { timeoutMs: 5000 });
  await probe.close();
  out(`internal-db listening on commlink ${c.host}:${port} (FFS/1, ${config.commlink.acceptSuites.join(', ')}; key bag ${bag.size} keys, id ${bag.idHex})`);
  out(`database ${c.dbPath}: schema ${String(info.schemaVersion)}, ${String(info.customers)} customers, ${String(info.products)} products, ${String(info.releases)} releases`);
  if (demo.created) {
    out('demo data created; these secrets are shown this once (stored only hashed):');
    for (const [key, value] of Object.entries(demo)) if (key !== 'created') out(`  ${key}: ${String(value)}`);
  }
  out(`not built yet: ${NOT_BUILT.join('; ')}`);
  out('Ctrl-C stops.');
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      out(`${signal}: closing`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await service.close();
  return 0;
}

runIfEntryPoint(import.meta.url, (argv) => main(argv));
