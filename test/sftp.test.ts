import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ssh2 from 'ssh2';
import { publish, startChain, waitFor, type Chain, type ChainOptions } from './helpers/chain.js';
import { readRemote, sftpConnect } from './helpers/sftp.js';

const run = promisify(execFile);
const hostKey = ssh2.utils.generateKeyPairSync('ed25519').private;
const PASSWORD = 'correct horse battery';

interface Setup {
  chain: Chain;
  port: number;
  content: Buffer;
  path: string;
  entitlement: number;
}

async function setup(t: Parameters<typeof startChain>[0], options: ChainOptions = {}, size = 300_000): Promise<Setup> {
  const chain = await startChain(t, { ...options, fileHost: { sftp: { port: 0, hostKey }, ...options.fileHost } });
  const content = randomBytes(size);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const entitlement = (await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' })).id as number;
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  return { chain, port: chain.fileHost.sftpAddress!.port, content, path: staged.files[0]!.path, entitlement };
}

test('password login, listing, download and resume at an offset, byte-identical; the outcome is audited', async (t) => {
  const { chain, port, content, path } = await setup(t);
  const { sftp, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const root = await new Promise<string[]>((resolve, reject) => sftp.readdir('/', (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
  t.deepEqual(root, ['acme-db']);
  const listing = await new Promise<ssh2.FileEntry[]>((resolve, reject) => sftp.readdir('/acme-db/1.0.0', (err, list) => (err ? reject(err) : resolve(list))));
  t.is(listing.length, 1);
  t.is(listing[0]!.attrs.size, content.length);
  t.regex(listing[0]!.longname, /^-r--r--r--/);
  const realpath = await new Promise<string>((resolve, reject) => sftp.realpath('.', (err, p) => (err ? reject(err) : resolve(p))));
  t.is(realpath, '/');
  t.true((await readRemote(sftp, path)).equals(content));
  const cut = 123_457;
  t.true(Buffer.concat([content.subarray(0, cut), await readRemote(sftp, path, cut)]).equals(content), 'resumed at an offset');
  let events: { outcome: string; bytes: number }[] = [];
  await waitFor(
    async () => {
      events = (await chain.call('audit.query', { customer: 'globex', protocol: 'sftp' })).events as typeof events;
      return events.length >= 2;
    },
    10_000,
    'sftp audit events',
  );
  t.deepEqual(events.map((e) => e.outcome), ['complete', 'complete']);
  t.deepEqual(events.map((e) => e.bytes).sort((a, b) => a - b), [content.length - cut, content.length]);
});

test('wrong password and unknown user are refused; shell, exec and forwarding are refused', async (t) => {
  const { port } = await setup(t);
  for (const [username, password] of [['globex', 'wrong password'], ['nobody', PASSWORD]]) {
    const err = await t.throwsAsync(sftpConnect({ port, username, password }));
    t.is((err as { level?: string }).level, 'client-authentication', username);
  }
  const { client, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const refused = (call: (cb: (err?: Error) => void) => void) => new Promise<boolean>((resolve) => call((err) => resolve(err !== undefined)));
  t.true(await refused((cb) => client.exec('cat /etc/passwd', (err) => cb(err))), 'exec');
  t.true(await refused((cb) => client.shell((err) => cb(err))), 'shell');
  t.true(await refused((cb) => client.forwardOut('127.0.0.1', 1, '127.0.0.1', 22, (err) => cb(err))), 'port forwarding');
});

test('public-key login with a key registered in the internal-db; OpenSSH sftp fetches a file and exits by itself', async (t) => {
  const { chain, port, content, path } = await setup(t);
  const key = ssh2.utils.generateKeyPairSync('ed25519', { comment: 'globex laptop' });
  await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
  const { sftp, close } = await sftpConnect({ port, username: 'globex', privateKey: key.private });
  t.teardown(close);
  t.true((await readRemote(sftp, path)).equals(content));
  const other = ssh2.utils.generateKeyPairSync('ed25519');
  const refused = await t.throwsAsync(sftpConnect({ port, username: 'globex', privateKey: other.private }));
  t.is((refused as { level?: string }).level, 'client-authentication');

  const dir = await mkdtemp(join(tmpdir(), 'ffs-openssh-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'id'), key.private);
  await chmod(join(dir, 'id'), 0o600);
  const local = join(dir, 'download.tar.gz');
  const openssh = (batch: string) =>
    run(
      'sftp',
      ['-b', batch, '-P', String(port), '-i', join(dir, 'id'), '-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'BatchMode=yes', 'globex@127.0.0.1'],
      { timeout: 30_000 }, // the client exits by itself when its batch is done; this only guards against a hang
    );
  await writeFile(join(dir, 'fetch'), `ls -l /acme-db/1.0.0\nget ${path} ${local}\nbye\n`);
  const { stdout } = await openssh(join(dir, 'fetch'));
  t.regex(stdout, /-r--r--r--.*acme-db-1\.0\.0\.tar\.gz/);
  t.true((await readFile(local)).equals(content), 'byte-identical');
  await writeFile(join(dir, 'upload'), `put ${join(dir, 'fetch')} /acme-db/upload\n`);
  const upload = await t.throwsAsync(openssh(join(dir, 'upload')));
  t.regex((upload as { stderr?: string }).stderr ?? '', /Permission denied/i, 'the upload was refused');
  await t.throwsAsync(stat(join(chain.fileDir, 'areas', 'globex', 'acme-db', 'upload')));
});
