import test from 'ava';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CommlinkClient, KeyBag } from '../lib/commlink/index.js';
import { readKeyBagFile } from '../lib/commlink/keybag-file.js';
import { silentLogger } from '../lib/log/logger.js';
import { main as genKeybag } from '../scripts/gen-keybag.js';
import { main as genHostKeys } from '../scripts/gen-host-keys.js';
import { main as genRsa } from '../scripts/gen-rsa.js';
import { main as genSessionKey } from '../scripts/gen-session-key.js';
import { waitFor } from './helpers/chain.js';
import { freePort } from './helpers/processes.js';

const dist = join(dirname(fileURLToPath(import.meta.url)), '..');

function run(entry: string, env: Record<string, string>): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [join(dist, entry)], { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stderr: () => stderr, exited };
}

test('the three services run as separate processes, joined by configuration, and stop cleanly on SIGTERM', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ffs-split-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const io = { env: { FFS_DATA_DIR: dataDir, FFS_RSA__BITS: '2048' }, stdout: () => {}, stderr: () => {} };
  t.is(await genKeybag([], io), 0);
  t.is(await genRsa([], io), 0);
  t.is(await genHostKeys([], io), 0);
  t.is(await genSessionKey([], io), 0);
  const [dbPort, webPort, httpPort, portalPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
  const env = {
    FFS_DATA_DIR: dataDir,
    FFS_LOG__LEVEL: 'info',
    FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: String(dbPort),
    FFS_SERVICES__WEB__COMMLINK_PORT: String(webPort),
    FFS_SERVICES__WEB__PORT: String(portalPort),
    FFS_SERVICES__FTP__HTTP_PORT: String(httpPort),
    FFS_SERVICES__FTP__HTTP_WORKERS: '1',
    FFS_SERVICES__FTP__SFTP_PORT: '0',
      FFS_SERVICES__FTP__FTP_PORT: '0',
      FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MIN: String(29000 + Math.floor(Math.random() * 45) * 20),
      FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MAX: '29999',
  };
  const db = run('services/internal-db/main.js', env);
  const web = run('services/web/main.js', env);
  const files = run('services/ftp/main.js', env);
  const all = [db, web, files];
  t.teardown(() => all.forEach((p) => p.child.kill('SIGKILL')));
  await waitFor(() => web.stderr().includes('file host registered') && web.stderr().includes('internal-db connected'), 20_000, 'the web host to see both');
  // A file host's question crosses web → internal-db, each in its own process.
  const bag = new KeyBag(await readKeyBagFile(join(dataDir, 'secrets', 'keybag')));
  const asFileHost = new CommlinkClient({ host: '127.0.0.1', port: webPort, bag, log: silentLogger });
  const refused = await asFileHost.request('auth.check', { login: 'nobody', password: 'x', protocol: 'ftp', clientAddress: '192.0.2.1' }, { timeoutMs: 10_000 }).catch((e: { code: string }) => e.code);
  t.is(refused, 'ERR_AUTH_REFUSED');
  await asFileHost.close(0);
  const res = await fetch(`http://127.0.0.1:${httpPort}/files/a/b/c`);
  t.is(res.status, 403, 'the file host serves HTTP (no ticket: 403)');
  const ready = await fetch(`http://127.0.0.1:${portalPort}/readyz`);
  t.is(ready.status, 200, 'the web host serves HTTP and sees both its commlinks');
  for (const p of [files, web, db]) p.child.kill('SIGTERM');
  t.deepEqual(await Promise.all(all.map((p) => p.exited)), [0, 0, 0]);
  t.false(db.stderr().includes('"level":"error"'), db.stderr());
});
