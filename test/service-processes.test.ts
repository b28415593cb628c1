import test from 'ava';
import { CommlinkClient } from '../lib/commlink/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { waitFor } from './helpers/wait.js';
import { endpointPort, linkBag, makeDataDir, startService, tail } from './helpers/processes.js';

test('the three services run as separate processes, joined by configuration, and stop cleanly on SIGTERM', async (t) => {
  const dataDir = await makeDataDir(t, 'ffs-split-');
  const base = {
    FFS_DATA_DIR: dataDir,
    FFS_LOG__LEVEL: 'info',
    FFS_SERVICES__FTP__HTTP_WORKERS: '1',
    FFS_SERVICES__FTP__SFTP_PORT: '0',
    FFS_SERVICES__FTP__FTP_PORT: '0',
    FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MIN: String(29000 + Math.floor(Math.random() * 45) * 20),
    FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MAX: '29999',
  };
  // Each listens on a port of its choosing (0); the next is configured with the port the one
  // before reported in its ready message: the web host dials the internal-db, the file host the web host.
  const db = startService(t, 'internal-db', 'internal-db', { ...base, FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0' });
  const dbPort = endpointPort(await db.ready(), 'commlinkPort');
  const web = startService(t, 'web', 'web', {
    ...base,
    FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: String(dbPort),
    FFS_SERVICES__WEB__COMMLINK_PORT: '0',
    FFS_SERVICES__WEB__PORT: '0',
    FFS_SERVICES__WEB__OPS_PORT: '0',
  });
  const webReady = await web.ready();
  const webPort = endpointPort(webReady, 'commlinkPort');
  const files = startService(t, 'file-host', 'file-host', { ...base, FFS_SERVICES__WEB__COMMLINK_PORT: String(webPort), FFS_SERVICES__FTP__HTTP_PORT: '0' });
  const httpPort = endpointPort(await files.ready(), 'httpPort');
  await waitFor(
    () => web.log().includes('file host registered') && web.log().includes('internal-db connected'),
    20_000,
    () => `the web host to see both\n${tail(web)}`,
  );
  // A file host's question crosses web → internal-db, each in its own process.
  const bag = await linkBag(dataDir, 'fileHost');
  const asFileHost = new CommlinkClient({ host: '127.0.0.1', port: webPort, bag, log: silentLogger });
  const refused = await asFileHost
    .request('auth.check', { login: 'nobody', password: 'x', protocol: 'ftp', clientAddress: '192.0.2.1' }, { timeoutMs: 10_000 })
    .catch((e: { code: string }) => e.code);
  t.is(refused, 'ERR_AUTH_REFUSED');
  await asFileHost.close(0);
  const res = await fetch(`http://127.0.0.1:${httpPort}/files/a/b/c`);
  t.is(res.status, 403, 'the file host serves HTTP (no ticket: 403)');
  const ready = await fetch(`${String(webReady.endpoints.url)}/readyz`);
  t.is(ready.status, 200, 'the web host serves HTTP and sees both its commlinks');
  const all = [db, web, files];
  for (const p of [files, web, db]) p.child.kill('SIGTERM');
  t.deepEqual(await Promise.all(all.map((p) => p.exited)), [0, 0, 0]);
  t.false(db.log().includes('"level":"error"'), db.log());
});
