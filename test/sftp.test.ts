import test from 'ava';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ssh2 from 'ssh2';
import { publish, startChain, waitFor, type Chain, type ChainOptions } from './helpers/chain.js';
import { opensshClient, readRemote, sftpConnect } from './helpers/sftp.js';
import { generateEd25519 } from '../lib/ssh-keys.js';

const hostKey = generateEd25519().private;
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
  t.deepEqual(
    events.map((e) => e.outcome),
    ['complete', 'complete'],
  );
  t.deepEqual(
    events.map((e) => e.bytes).sort((a, b) => a - b),
    [content.length - cut, content.length],
  );
});

test('wrong password and unknown user are refused; shell, commands other than the checksums and forwarding are refused', async (t) => {
  const { port } = await setup(t);
  for (const [username, password] of [
    ['globex', 'wrong password'],
    ['nobody', PASSWORD],
  ]) {
    const err = await t.throwsAsync(sftpConnect({ port, username, password }));
    t.is((err as { level?: string }).level, 'client-authentication', username);
  }
  const { client, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const refused = (call: (cb: (err?: Error) => void) => void) => new Promise<boolean>((resolve) => call((err) => resolve(err !== undefined)));
  // exec runs nothing but the checksum commands (test/ssh-commands.test.ts): any other command exits 127, with no output.
  const exec = await new Promise<{ code?: number; stdout: string }>((resolve, reject) =>
    client.exec('cat /etc/passwd', (err, stream) => {
      if (err) return reject(err);
      const ran: { code?: number; stdout: string } = { stdout: '' };
      stream.on('data', (chunk: Buffer) => (ran.stdout += chunk.toString()));
      stream.stderr.resume();
      stream.on('exit', (code: number) => (ran.code = code));
      stream.on('close', () => resolve(ran));
    }),
  );
  t.deepEqual(exec, { code: 127, stdout: '' }, 'exec of another command');
  t.true(await refused((cb) => client.shell((err) => cb(err))), 'shell');
  t.true(await refused((cb) => client.forwardOut('127.0.0.1', 1, '127.0.0.1', 22, (err) => cb(err))), 'port forwarding');
});

test('public-key login with a key registered in the internal-db; OpenSSH sftp fetches a file and exits by itself', async (t) => {
  const { chain, port, content, path } = await setup(t);
  const key = generateEd25519('globex laptop');
  await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
  const { sftp, close } = await sftpConnect({ port, username: 'globex', privateKey: key.private });
  t.teardown(close);
  t.true((await readRemote(sftp, path)).equals(content));
  const other = generateEd25519();
  const refused = await t.throwsAsync(sftpConnect({ port, username: 'globex', privateKey: other.private }));
  t.is((refused as { level?: string }).level, 'client-authentication');

  const { dir, openssh } = await opensshClient(t, { port, privateKey: key.private, timeoutMs: 30_000 });
  const local = join(dir, 'download.tar.gz');
  await writeFile(join(dir, 'fetch'), `ls -l /acme-db/1.0.0\nget ${path} ${local}\nbye\n`);
  const { stdout } = await openssh(join(dir, 'fetch'));
  t.regex(stdout, /-r--r--r--.*acme-db-1\.0\.0\.tar\.gz/);
  t.true((await readFile(local)).equals(content), 'byte-identical');
  await writeFile(join(dir, 'upload'), `put ${join(dir, 'fetch')} /acme-db/upload\n`);
  const upload = await t.throwsAsync(openssh(join(dir, 'upload')));
  t.regex((upload as { stderr?: string }).stderr ?? '', /Permission denied/i, 'the upload was refused');
  await t.throwsAsync(stat(join(chain.fileDir, 'areas', 'globex', 'acme-db', 'upload')));
});

test('every write request is refused with PERMISSION_DENIED and changes nothing', async (t) => {
  const { chain, port, content, path } = await setup(t);
  const { sftp, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const DENIED = ssh2.utils.sftp.STATUS_CODE.PERMISSION_DENIED;
  const attempts: [string, (cb: (err?: Error | null) => void) => void][] = [
    ['open for writing', (cb) => sftp.open(path, 'r+', (err) => cb(err))],
    ['open to create', (cb) => sftp.open('/acme-db/new.bin', 'w', (err) => cb(err))],
    ['open to append', (cb) => sftp.open(path, 'a', (err) => cb(err))],
    ['remove', (cb) => sftp.unlink(path, cb)],
    ['rename', (cb) => sftp.rename(path, '/acme-db/renamed', cb)],
    ['mkdir', (cb) => sftp.mkdir('/new-dir', cb)],
    ['rmdir', (cb) => sftp.rmdir('/acme-db/1.0.0', cb)],
    ['setstat', (cb) => sftp.setstat(path, { mode: 0o666 }, cb)],
    ['symlink', (cb) => sftp.symlink('/etc/passwd', '/acme-db/link', cb)],
  ];
  for (const [name, attempt] of attempts) {
    const code = await new Promise<number>((resolve) => attempt((err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0)));
    t.is(code, DENIED, name);
  }
  // A write through a handle opened for reading is refused too.
  const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(path, 'r', (err, h) => (err ? reject(err) : resolve(h))));
  const writeCode = await new Promise<number>((resolve) =>
    sftp.write(handle, Buffer.from('x'), 0, 1, 0, (err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0)),
  );
  t.is(writeCode, DENIED, 'write on a read handle');
  const area = join(chain.fileDir, 'areas', 'globex');
  t.true((await readFile(join(area, path))).equals(content), 'the file is unchanged');
  t.is((await stat(join(area, path))).mode & 0o777, 0o444);
  await t.throwsAsync(stat(join(area, 'acme-db', 'new.bin')));
  await t.throwsAsync(stat(join(area, 'new-dir')));
});

test('a revoked entitlement is gone at the next login', async (t) => {
  const { chain, port, path, entitlement } = await setup(t);
  const first = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  await readRemote(first.sftp, path);
  first.close();
  await chain.call('entitlement.revoke', { id: entitlement });
  const second = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(second.close);
  const code = await new Promise<number>((resolve) => second.sftp.stat(path, (err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0)));
  t.is(code, ssh2.utils.sftp.STATUS_CODE.NO_SUCH_FILE);
  const root = await new Promise<string[]>((resolve, reject) =>
    second.sftp.readdir('/', (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))),
  );
  t.deepEqual(root, []);
});

test('repeated failed logins ban the address, even for the right password', async (t) => {
  const { port } = await setup(t, { fileHost: { sessions: { defenderThreshold: 3 } } });
  for (let i = 0; i < 3; i++) await t.throwsAsync(sftpConnect({ port, username: 'globex', password: `wrong ${i}` }));
  const banned = await t.throwsAsync(sftpConnect({ port, username: 'globex', password: PASSWORD }));
  t.not((banned as { level?: string }).level, undefined, 'refused while banned');
});

test('with the internal chain down, logins fail (not counted against the client) and the file host keeps running', async (t) => {
  const { chain, port, content, path } = await setup(t);
  await chain.service.close(0); // the internal-db goes away
  await waitFor(() => !chain.web.db.connected, 5000, 'the web host to notice');
  const err = await t.throwsAsync(sftpConnect({ port, username: 'globex', password: PASSWORD }));
  t.is((err as { level?: string }).level, 'client-authentication');
  // Not the client's fault: no ban, and the next attempt after the chain is back succeeds.
  t.deepEqual(chain.fileHost.logins.defender.banned(), []);
  t.is(chain.fileHost.logins.defender.bannedUntil('127.0.0.1'), undefined);
  const res = await fetch(`${chain.fileHost.httpUrl}/files/x?ticket=y`);
  t.is(res.status, 403, 'HTTP still answers');
  t.truthy(content.length && path);
});

test('100 concurrent downloads over 10 connections are each byte-identical', async (t) => {
  const { port, content, path } = await setup(t, {}, 1024 * 1024 + 7);
  const connections = await Promise.all(Array.from({ length: 10 }, () => sftpConnect({ port, username: 'globex', password: PASSWORD })));
  t.teardown(() => connections.forEach((c) => c.close()));
  const bodies = await Promise.all(connections.flatMap((c) => Array.from({ length: 10 }, () => readRemote(c.sftp, path))));
  t.is(bodies.length, 100);
  t.true(bodies.every((b) => b.equals(content)));
});

test('with the login cache, a revocation made in the internal-db takes effect through the change feed', async (t) => {
  const { chain, port, path, entitlement } = await setup(t, { fileHost: { sessions: { loginCacheSeconds: 60 } } });
  const stat = async () => {
    const { sftp, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
    const code = await new Promise<number>((resolve) => sftp.stat(path, (err) => resolve(err ? ((err as { code?: number }).code ?? -1) : 0)));
    close();
    return code;
  };
  t.is(await stat(), 0);
  const seq = chain.service.store.changes.head();
  await chain.call('entitlement.revoke', { id: entitlement });
  t.true(await chain.fileHost.changeFeed.applied(seq + 1, 5000));
  t.is(await stat(), ssh2.utils.sftp.STATUS_CODE.NO_SUCH_FILE, 'the remembered login was forgotten and the area pruned');
  // A wrong password is never served from the cache.
  await t.throwsAsync(sftpConnect({ port, username: 'globex', password: 'not the password' }));
});

test('SFTP in worker processes: logins decided by the file host, downloads and audit as in-process, a dead worker replaced', async (t) => {
  const { chain, port, content, path } = await setup(t, { fileHost: { sftp: { port: 0, hostKey, workers: 2 } } });
  const sessions = await Promise.all(Array.from({ length: 4 }, () => sftpConnect({ port, username: 'globex', password: PASSWORD })));
  t.teardown(() => sessions.forEach((s) => s.close()));
  const bodies = await Promise.all(sessions.map((s) => readRemote(s.sftp, path)));
  t.true(bodies.every((b) => b.equals(content)));
  const refused = await t.throwsAsync(sftpConnect({ port, username: 'globex', password: 'wrong' }));
  t.is((refused as { level?: string }).level, 'client-authentication');
  await waitFor(
    async () => ((await chain.call('audit.query', { customer: 'globex', protocol: 'sftp' })).events as unknown[]).length >= 4,
    10_000,
    'four sftp audit rows',
  );
  sessions.forEach((s) => s.close());
  const pids = chain.fileHost.sftpWorkerPids;
  t.is(pids.length, 2);
  process.kill(pids[0]!, 'SIGKILL');
  await waitFor(() => chain.fileHost.sftpWorkerPids.length === 2 && !chain.fileHost.sftpWorkerPids.includes(pids[0]!), 10_000, 'a replacement worker');
  const after = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(after.close);
  t.true((await readRemote(after.sftp, path)).equals(content));
});
