import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { CommlinkClient, KeyBag } from '../lib/commlink/index.js';
import { readKeyBagFile } from '../lib/commlink/keybag-file.js';
import { silentLogger } from '../lib/log/logger.js';
import { demoArtifactContent } from '../services/internal-db/demo.js';
import { readRemote, sftpConnect } from './helpers/sftp.js';

const startScript = join(dirname(fileURLToPath(import.meta.url)), '..', 'scripts', 'start.js');

test('npm start sets up secrets, runs internal-db, web host (portal, API, gateway) and file host on loopback, serves the demo download, and stops cleanly on SIGTERM', async (t) => {
  const dataDir = await mkdtemp(join(tmpdir(), 'ffs-start-'));
  t.teardown(() => rm(dataDir, { recursive: true, force: true }));
  const child = spawn(process.execPath, [startScript], {
    env: {
      ...process.env,
      FFS_DATA_DIR: dataDir,
      FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '0',
      FFS_SERVICES__WEB__COMMLINK_PORT: '0',
      FFS_SERVICES__WEB__PORT: '0',
      FFS_SERVICES__FTP__HTTP_PORT: '0',
      FFS_SERVICES__FTP__HTTP_WORKERS: '1',
      FFS_SERVICES__FTP__SFTP_PORT: '0',
      FFS_SERVICES__FTP__FTP_PORT: '0',
      FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MIN: String(29000 + Math.floor(Math.random() * 45) * 20),
      FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MAX: '29999',
      FFS_LOG__LEVEL: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(() => void child.kill('SIGKILL')); // never leave it running if the test fails early
  while (!stdout.includes('Ctrl-C stops')) {
    if (child.exitCode !== null) t.fail(`start exited early: ${stdout}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const port = Number(/listening on commlink 127\.0\.0\.1:(\d+)/.exec(stdout)?.[1]);
  t.true(port > 0);
  const keys = await readKeyBagFile(join(dataDir, 'secrets', 'keybag'));
  t.false(stdout.includes(keys[0]!.toString('base64')), 'no key is printed');
  const client = new CommlinkClient({ host: '127.0.0.1', port, bag: new KeyBag(keys), log: silentLogger });
  const reply = await client.request('db.info', {}, { timeoutMs: 5000 });
  t.is(reply.schemaVersion, 1);
  t.is(reply.customers, 1, 'a fresh database gets the demo data');
  const password = /password: (\S+)/.exec(stdout)?.[1] as string;
  const login = await client.request('auth.check', { login: 'demo', password, protocol: 'http', clientAddress: '127.0.0.1' }, { timeoutMs: 10_000 });
  t.like(login, { customer: { login: 'demo' } });
  await client.close();
  // The demo download works: the artifact's bytes are in the repository, staged, and served.
  const url = /^  (http:\/\/\S+\/files\/\S+)$/m.exec(stdout)?.[1] as string;
  const res = await fetch(url);
  t.is(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  t.true(body.equals(demoArtifactContent('2.0.0')));
  t.is(res.headers.get('x-checksum-sha256'), createHash('sha256').update(body).digest('hex'));
  // And over SFTP, with the demo login.
  const sftpPort = Number(/sftp -P (\d+) demo@/.exec(stdout)?.[1]);
  const { sftp, close } = await sftpConnect({ port: sftpPort, username: 'demo', password });
  t.true((await readRemote(sftp, '/acme-db/2.0.0/acme-db-2.0.0-linux-x64.tar.gz')).equals(demoArtifactContent('2.0.0')));
  close();
  // And over FTP (curl, passive mode).
  const ftpPort = Number(/ftp:\/\/demo@127\.0\.0\.1:(\d+)\//.exec(stdout)?.[1]);
  const viaFtp = await promisify(execFile)('curl', ['-sS', '--fail', `ftp://demo:${encodeURIComponent(password)}@127.0.0.1:${ftpPort}/acme-db/2.0.0/acme-db-2.0.0-linux-x64.tar.gz`], { encoding: 'buffer', maxBuffer: 4 * 1024 * 1024 });
  t.true(viaFtp.stdout.equals(demoArtifactContent('2.0.0')));
  // The portal and the API answer, and the demo customer token lists the demo downloads.
  const portal = /^portal: (http:\/\/\S+)\/ /m.exec(stdout)?.[1] as string;
  t.is((await fetch(`${portal}/readyz`)).status, 200);
  const customerToken = /customerToken: (\S+)/.exec(stdout)?.[1] as string;
  const downloads = (await (await fetch(`${portal}/api/v1/downloads`, { headers: { authorization: `Bearer ${customerToken}` } })).json()) as { artifacts: { version: string }[] };
  t.deepEqual(downloads.artifacts.map((a) => a.version), ['2.0.0', '1.0.0']);
  child.kill('SIGTERM');
  t.is(await exited, 0);
  t.regex(stdout, /SIGTERM: closing/);
});
