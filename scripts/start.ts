/**
 * `npm start`: sets up what is missing (key bag, ticket RSA key pair) and runs what is built so
 * far on loopback. Today that is the commlink: a server on the web host's commlink port that
 * answers `sys.ping`, proved by a round trip from a client before the address is printed.
 * Ctrl-C or SIGTERM closes it cleanly.
 */
import { readKeyBagFile } from '../lib/commlink/keybag-file.js';
import { CommlinkClient, CommlinkServer, KeyBag, optionsFromConfig } from '../lib/commlink/index.js';
import { loadConfig } from '../lib/config/index.js';
import { createLogger } from '../lib/log/logger.js';
import { errorText, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';
import { main as genKeybag } from './gen-keybag.js';
import { main as genRsa } from './gen-rsa.js';

const NOT_BUILT = ['internal-db service', 'file host (repository, staging, HTTP/FTP/SFTP downloads)', 'web front end', 'supervisor for all three'];

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
  const log = createLogger({ level: config.log.level, fields: { service: 'commlink' } });
  const bag = new KeyBag(await readKeyBagFile(config.commlink.keyBagPath));
  const shared = { ...optionsFromConfig(config.commlink), bag, log };
  const { suite, acceptSuites } = config.commlink;
  const server = new CommlinkServer({
    ...shared,
    handlers: { 'sys.ping': () => ({ pong: true, time: new Date().toISOString() }) },
  });
  const host = config.services.web.host;
  try {
    await server.listen(config.services.web.commlinkPort, host);
  } catch (e) {
    err(`start: cannot listen on ${host}:${config.services.web.commlinkPort}: ${errorText(e)} (set FFS_SERVICES__WEB__COMMLINK_PORT)`);
    return 1;
  }
  const { port } = server.address();
  const probe = new CommlinkClient({ ...shared, host, port });
  const reply = await probe.request('sys.ping', {}, { timeoutMs: 5000 });
  await probe.close();
  out(`commlink (FFS/1) listening on ${host}:${port}  suites: ${acceptSuites.join(', ')}  key bag: ${bag.size} keys, id ${bag.idHex}`);
  out(`self-check: sys.ping over ${suite} answered at ${String(reply.time)}`);
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
  await server.close();
  return 0;
}

runIfEntryPoint(import.meta.url, (argv) => main(argv));
