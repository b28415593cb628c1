/**
 * One key bag per link (PROTOCOL.md §2): each host's data directory, as `topology keys` fills it,
 * holds the bags of its own links only, and a file host's bag cannot open a commlink to the
 * internal-db, whatever the network lets through. Then what a data directory of the earlier single
 * bag does. Real service processes on loopback.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { CommlinkClient, Errors } from '../lib/commlink/index.js';
import { generateKeys, writeKeyBagFile } from '../lib/commlink/keybag-file.js';
import type { CodedError } from '../lib/errors/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { main as topology } from '../scripts/topology.js';
import { endpointPort, linkBag, startService } from './helpers/processes.js';
import { waitFor, within } from './helpers/wait.js';
import { MIGRATIONS } from '../services/internal-db/db/migrations.js';

test('topology keys gives each host only the bags of its links, and a file host bag cannot open the internal-db link', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ffs-bags-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  let out = '';
  const code = await topology(['keys', '--data-root', root], { env: { FFS_RSA__BITS: '2048' }, stdout: (s) => (out += s), stderr: (s) => (out += s) });
  t.is(code, 0, out);
  const secrets = async (host: string) => (await readdir(join(root, host, 'secrets'))).filter((f) => f.startsWith('keybag')).sort();
  t.deepEqual(await secrets('web'), ['keybag-file-host', 'keybag-internal-db']);
  t.deepEqual(await secrets('file'), ['keybag-file-host']);
  t.deepEqual(await secrets('internal'), ['keybag-internal-db']);
  const fileHostBag = await linkBag(join(root, 'file'), 'fileHost');
  t.is(fileHostBag.idHex, (await linkBag(join(root, 'web'), 'fileHost')).idHex, 'the file host has the web host’s copy');
  t.not(fileHostBag.idHex, (await linkBag(join(root, 'internal'), 'internalDb')).idHex);

  const db = startService(t, 'internal-db', 'internal-db', {
    FFS_DATA_DIR: join(root, 'internal'),
    FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0',
    FFS_SERVICES__INTERNAL_DB__SCRYPT_LOG_N: '14',
    FFS_LOG__LEVEL: 'info',
  });
  const port = endpointPort(await db.ready(), 'commlinkPort');

  // The file host's bag, dialled straight at the internal-db (no firewall in between): refused at its hello.
  const intruder = new CommlinkClient({ host: '127.0.0.1', port, bag: fileHostBag, log: silentLogger, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  t.teardown(() => intruder.close(0));
  const refused = new Promise<CodedError | undefined>((resolve) => intruder.once('reconnecting', (e: { error?: CodedError }) => resolve(e.error)));
  void intruder.connect(30_000).catch(() => {});
  const error = await within(refused, 10_000, 'the handshake to fail');
  t.is(error?.code, Errors.HANDSHAKE.code, error?.message);
  t.false(intruder.connected);
  await waitFor(
    () => db.log().includes('peer uses another key bag'),
    10_000,
    () => `the internal-db to say why\n${db.log().slice(-2000)}`,
  );
  const failed = await intruder.request('db.info', {}, { timeoutMs: 200 }).catch((e: CodedError) => e.code);
  t.is(failed, Errors.NOT_CONNECTED.code);

  // The web host's bag of that link gets in.
  const web = new CommlinkClient({ host: '127.0.0.1', port, bag: await linkBag(join(root, 'web'), 'internalDb'), log: silentLogger });
  t.teardown(() => web.close(0));
  t.like(await web.request('db.info', {}, { timeoutMs: 10_000 }), { schemaVersion: MIGRATIONS.at(-1)!.version });
});

test('a data directory with only the single bag of an earlier version: the service stops, naming its setting, what to run and the old file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-bags-old-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeKeyBagFile(join(dir, 'secrets', 'keybag'), generateKeys(4));
  const db = startService(t, 'internal-db', 'internal-db', { FFS_DATA_DIR: dir, FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0' });
  t.not(await db.exited, 0);
  const log = db.log();
  t.regex(log, /commlink\.internalDbBagPath: no key bag at \S*keybag-internal-db/);
  t.regex(log, /npm run keys/);
  t.regex(log, /secrets\/keybag is the single bag of an earlier version, no longer read/);
});
