/**
 * `npm start`: sets up what is missing (the two commlink key bags, one per link; the ticket RSA key
 * pair, FTPS certificate, SSH host key, session keys, the web host's HTTPS certificate — self-signed
 * for loopback unless services.web.tlsCertPath gives one —, the database with demo data, the demo
 * artifacts in the repository), then runs the
 * internal-db, the web host and the file host on loopback, each in its own process under a
 * supervisor (scripts/supervisor), waits until each is ready, stages the demo release, prints where
 * everything is with the demo logins and writes the same to `<dataDir>/endpoints.json`. A service
 * that dies is restarted while the others keep serving. Ctrl-C or SIGTERM stops all three cleanly.
 */
import { rootCertificates } from 'node:tls';
import { loadConfig, type Config } from '../lib/config/index.js';
import { createLogger } from '../lib/log/logger.js';
import { DEMO } from '../services/internal-db/demo.js';
import { errorText, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';
import { main as genHostKeys } from './gen-host-keys.js';
import { main as genKeybag } from './gen-keybag.js';
import { main as genRsa } from './gen-rsa.js';
import { main as genSessionKey } from './gen-session-key.js';
import { setUpDemo, type DemoSetup } from './start/demo-setup.js';
import { describeEndpoints, stageDemo, waitWebReady, writeEndpoints, type Endpoints } from './start/endpoints.js';
import { certificateEnv, ensureWebCertificate, type WebCertificate } from './start/web-tls.js';
import { Supervisor } from './supervisor/supervisor.js';

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const { env, cwd, out, err } = resolveIo(io);
  if (argv.length > 0) {
    err('usage: start   (configure with FFS_* environment variables; see lib/config/CONFIG.md)');
    return 2;
  }
  let config: Config;
  try {
    config = loadConfig({ env, cwd });
  } catch (e) {
    err(errorText(e));
    return 2;
  }
  let stopSignal: string | undefined;
  const stopped = new Promise<void>((resolve) => {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        stopSignal ??= signal;
        resolve();
      });
    }
  });

  for (const [name, step] of [
    ['gen-keybag', genKeybag],
    ['gen-rsa', genRsa],
    ['gen-host-keys', genHostKeys],
    ['gen-session-key', genSessionKey],
  ] as const) {
    const code = await step([], io);
    if (code !== 0) {
      err(`start: ${name} failed (exit ${code})`);
      return code;
    }
  }
  let certificate: WebCertificate;
  try {
    certificate = await ensureWebCertificate(config);
  } catch (e) {
    err(`start: the web host's HTTPS certificate: ${errorText(e)}`);
    return 1;
  }
  out(
    certificate.created
      ? `web HTTPS certificate written: ${certificate.certPath} (self-signed for localhost, 127.0.0.1, ::1; key ${certificate.keyPath})`
      : `web HTTPS certificate ${certificate.selfSigned ? 'exists' : 'configured'}: ${certificate.certPath}; kept`,
  );
  // The clients here trust the web host's certificate and nothing else (a configured one may chain to a public root).
  const trust = certificate.selfSigned ? certificate.pem : [...rootCertificates, certificate.pem].join('\n');
  const log = createLogger({ level: config.log.level, fields: { service: 'supervisor' } });
  let demo: DemoSetup;
  try {
    demo = await setUpDemo(config, log);
  } catch (e) {
    err(`start: setting up the demo data failed: ${errorText(e)} (database ${config.services.internalDb.dbPath})`);
    return 1;
  }
  let supervisor: Supervisor;
  try {
    supervisor = await Supervisor.start({ config, env: { ...process.env, ...env, ...(certificate.selfSigned ? certificateEnv(certificate) : {}) }, log });
  } catch (e) {
    err(`start: ${errorText(e)} (the service's log above says why; ports are set with FFS_SERVICES__* variables, see lib/config/CONFIG.md)`);
    return 1;
  }
  let endpoints: Endpoints;
  let path: string;
  try {
    const web = String(supervisor.endpoints('web').url);
    await waitWebReady(web, trust, 30_000);
    const staged = demo.secrets ? await stageDemo(web, trust, demo.secrets.customerToken) : undefined;
    endpoints = describeEndpoints(config, supervisor, certificate, demo.secrets, staged?.url ?? null);
    path = await writeEndpoints(config, endpoints);
  } catch (e) {
    err(`start: ${errorText(e)}`);
    await supervisor.close();
    return 1;
  }
  // Secrets (the demo password and tokens, a download ticket) go to a terminal only, never to a log.
  const showSecrets = io.stdout === undefined && process.stdout.isTTY === true;
  printEndpoints(out, config, supervisor, endpoints, demo, path, showSecrets);
  // Each restart is reported, and endpoints.json follows the new process ids.
  for (const service of supervisor.services.values()) {
    service.on('ready', () => {
      if (stopSignal) return;
      out(`${service.name} restarted (pid ${String(service.pid)}, restart ${service.restarts})`);
      endpoints = describeEndpoints(config, supervisor, certificate, demo.secrets, endpoints.download);
      writeEndpoints(config, endpoints).catch((e: unknown) => err(`start: cannot update ${path}: ${errorText(e)}`));
    });
  }
  if (!stopSignal) await stopped;
  out(`${stopSignal ?? 'stop'}: closing`);
  await supervisor.close();
  out('stopped');
  return 0;
}

function printEndpoints(
  out: (line: string) => void,
  config: Config,
  supervisor: Supervisor,
  endpoints: Endpoints,
  demo: DemoSetup,
  path: string,
  showSecrets: boolean,
): void {
  const pid = (name: 'internal-db' | 'web' | 'file-host') => String(supervisor.service(name).pid);
  const { internalDb: c, web: w, ftp: f } = config.services;
  const db = supervisor.endpoints('internal-db');
  const web = supervisor.endpoints('web');
  const file = supervisor.endpoints('file-host');
  out(
    c.mode === 'listen'
      ? `internal-db (pid ${pid('internal-db')}) listening on commlink ${c.host}:${String(db.commlinkPort)}, database ${c.dbPath}`
      : `internal-db (pid ${pid('internal-db')}) dialling the web host at ${c.dialHost}:${String(web.dialPort)}, database ${c.dbPath}`,
  );
  out(`web host (pid ${pid('web')}): commlink for file hosts on ${w.host}:${String(web.commlinkPort)}, metrics at ${endpoints.metrics}`);
  out(`portal: ${endpoints.web}/   (sign in as ${endpoints.demo.customer.login}; REST API ${endpoints.api}/, OpenAPI ${endpoints.api}/openapi.json)`);
  const cert = endpoints.webCertificate;
  out(
    `HTTPS certificate: ${cert.path}, SHA-256 fingerprint ${cert.sha256Fingerprint}` +
      (cert.selfSigned ? `   (self-signed: curl --cacert ${cert.path} ${endpoints.api}/…; services/web/README.md says how to trust it in a browser)` : ''),
  );
  out(`file host ${endpoints.fileHost.name} (pid ${pid('file-host')}): HTTP downloads at ${endpoints.fileHost.http}/files/…, repository ${f.repositoryDir}`);
  out(`SFTP: sftp -P ${String(file.sftpPort)} ${endpoints.demo.customer.login}@${f.host}   (${endpoints.sftp})`);
  out(`FTP:  ${endpoints.ftp}   (explicit FTPS offered: curl --ssl-reqd -k)`);
  if (endpoints.download) {
    const what = `demo download (${DEMO.product} ${DEMO.versions.at(-1)!}, staged for ${endpoints.demo.customer.login}, ticket valid ${w.ticketTtlSeconds} s)`;
    if (showSecrets) {
      out(`${what}:`);
      out(`  ${endpoints.download}`);
    } else {
      out(`${what}: its signed link is "download" in ${path}`);
    }
  }
  if (demo.secrets) {
    out(`demo logins${demo.created ? ' (new demo data)' : ''}: kept in ${demo.secretsPath} (mode 0600), stored only hashed in the database`);
    if (showSecrets) {
      out(`  customer ${demo.secrets.customer}, password: ${demo.secrets.password}`);
      out(`  customerToken: ${demo.secrets.customerToken}`);
      out(`  vendorToken: ${demo.secrets.vendorToken}`);
      out(`  adminToken: ${demo.secrets.adminToken}`);
    } else {
      out(`  customer ${demo.secrets.customer}; the password and the API tokens are in that file (shown here only on a terminal)`);
    }
  } else {
    out(`demo logins: not known (the demo data predates ${demo.secretsPath}); set a password with the admin CLI`);
  }
  out(`endpoints: ${path}`);
  out('Ctrl-C stops all three.');
}

runIfEntryPoint(import.meta.url, (argv) => main(argv));
