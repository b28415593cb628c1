/**
 * `npm start`: sets up what is missing (key bag, ticket RSA key pair) and runs the system on
 * loopback in this one process: the internal-db (seeded with demo data on first start), the web
 * host's gateway (it dials the internal-db) and the file host (it dials the web host, serves HTTP
 * downloads). The demo artifacts are put in the repository and the newest demo release is staged,
 * so the printed download URL works at once. Ctrl-C or SIGTERM closes everything cleanly.
 */
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { KeyBag, optionsFromConfig } from '../lib/commlink/index.js';
import { readKeyBagFile } from '../lib/commlink/keybag-file.js';
import { loadConfig } from '../lib/config/index.js';
import { createLogger } from '../lib/log/logger.js';
import { FileHostService } from '../services/ftp/service.js';
import { DEMO, demoArtifactContent, seedDemo } from '../services/internal-db/demo.js';
import { InternalDbService } from '../services/internal-db/service.js';
import { WebService } from '../services/web/service.js';
import { errorText, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';
import { main as genHostKeys } from './gen-host-keys.js';
import { main as genKeybag } from './gen-keybag.js';
import { main as genRsa } from './gen-rsa.js';
import { main as genSessionKey } from './gen-session-key.js';
import { webOptionsFromConfig } from '../services/web/main.js';

const NOT_BUILT = ['supervisor running each service in its own process'];

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
  for (const [name, step] of [['gen-keybag', genKeybag], ['gen-rsa', genRsa], ['gen-host-keys', genHostKeys], ['gen-session-key', genSessionKey]] as const) {
    const code = await step([], io);
    if (code !== 0) {
      err(`start: ${name} failed (exit ${code})`);
      return code;
    }
  }
  const log = createLogger({ level: config.log.level });
  const bag = new KeyBag(await readKeyBagFile(config.commlink.keyBagPath));
  const commlink = { ...optionsFromConfig(config.commlink), bag };
  const { internalDb: c, web: w, ftp: f } = config.services;
  const started: { close(graceMs?: number): Promise<void> }[] = [];
  const closeAll = async () => {
    for (const service of started.reverse()) await service.close(5000);
  };
  try {
    const db = await startStep('the internal-db', `${c.host}:${c.commlinkPort}`, 'FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT', () =>
      InternalDbService.start({ ...c, mode: 'listen', listenHost: c.host, listenPort: c.commlinkPort, commlink, log: log.child({ service: 'internal-db' }) }),
    );
    started.push(db);
    const demo = await seedDemo(db.store); // a fresh database gets demo data; shown this once
    const web = await startStep('the web host', `${w.host}:${w.port} (HTTP), ${w.host}:${w.commlinkPort} (commlink)`, 'FFS_SERVICES__WEB__PORT or FFS_SERVICES__WEB__COMMLINK_PORT', async () =>
      WebService.start({ ...(await webOptionsFromConfig(config, log.child({ service: 'web' }))), internalDb: { mode: 'listen', host: c.host, port: db.address!.port, dialListenHost: w.host, dialListenPort: c.dialPort }, commlink }),
    );
    started.push(web);
    if (!(await web.db.waitConnected(10_000))) throw new Error('the web host could not reach the internal-db');
    const fileHost = await startStep('the file host', `${f.host}:${f.httpPort}`, 'FFS_SERVICES__FTP__HTTP_PORT', async () =>
      FileHostService.start({
        ...f,
        sessions: f,
        sftp: { port: f.sftpPort, hostKey: await readFile(f.sftpHostKeyPath), workers: f.sftpWorkers || availableParallelism() },
        ftp: {
          port: f.ftpPort,
          passivePortMin: f.ftpPassivePortMin,
          passivePortMax: f.ftpPassivePortMax,
          passiveAddress: f.ftpPassiveAddress,
          requireTls: f.ftpRequireTls,
          tls: { cert: await readFile(f.ftpTlsCertPath, 'utf8'), key: await readFile(f.ftpTlsKeyPath, 'utf8') },
        },
        ticketPublicKeyPem: await readFile(config.rsa.publicKeyPath, 'utf8'),
        web: { host: w.host, port: web.commlinkAddress.port },
        commlink,
        log: log.child({ service: 'file-host' }),
      }),
    );
    started.push(fileHost);
    for (let i = 0; i < 500 && web.fileHosts.list().length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    // The demo artifacts' bytes go into the repository (once), and the newest release is staged.
    for (const version of DEMO.versions) {
      const content = demoArtifactContent(version);
      await web.fulfillment.ingest(Readable.from([content]), { size: content.length });
    }
    const newest = DEMO.versions.at(-1)!;
    const staged = await web.fulfillment.stage(DEMO.customer, DEMO.product, newest);
    const info = db.store.counts();
    out(`internal-db listening on commlink ${c.host}:${db.address!.port} (FFS/1, ${config.commlink.acceptSuites.join(', ')}; key bag ${bag.size} keys, id ${bag.idHex})`);
    out(`database ${c.dbPath}: ${String(info.customers)} customers, ${String(info.products)} products, ${String(info.releases)} releases`);
    out(`web host gateway on commlink ${w.host}:${web.commlinkAddress.port}`);
    out(`portal: ${web.httpUrl}/   (sign in as ${DEMO.customer}; REST API ${web.httpUrl}/api/v1/, OpenAPI ${web.httpUrl}/api/v1/openapi.json)`);
    out(`file host ${fileHost.name}: HTTP downloads at ${fileHost.httpUrl}/files/…, repository ${f.repositoryDir}`);
    out(`SFTP: sftp -P ${fileHost.sftpAddress!.port} ${DEMO.customer}@${f.host}   (password below on first start, or a key added with the admin CLI)`);
    out(`FTP:  ftp://${DEMO.customer}@${f.host}:${fileHost.ftpAddress!.port}/   (explicit FTPS offered: curl --ssl-reqd -k)`);
    out(`demo download (${DEMO.product} ${newest}, staged for ${DEMO.customer}, ticket valid ${w.ticketTtlSeconds} s):`);
    out(`  ${staged.files[0]!.url}`);
    if (demo.created) {
      out('demo data created; these secrets are shown this once (stored only hashed):');
      for (const [key, value] of Object.entries(demo)) if (key !== 'created') out(`  ${key}: ${String(value)}`);
    }
    out(`not built yet: ${NOT_BUILT.join('; ')}`);
    out('Ctrl-C stops.');
  } catch (e) {
    err(`start: ${errorText(e)}`);
    await closeAll();
    return 1;
  }
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      out(`${signal}: closing`);
      resolve();
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  await closeAll();
  return 0;
}

/** Runs a service's start, turning a failure into a message that names the address and its setting. */
async function startStep<T>(what: string, address: string, variable: string, start: () => Promise<T>): Promise<T> {
  try {
    return await start();
  } catch (e) {
    throw new Error(`${what} cannot start on ${address}: ${errorText(e)} (set ${variable})`);
  }
}

runIfEntryPoint(import.meta.url, (argv) => main(argv));
