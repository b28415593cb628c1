import test from 'ava';
import { randomBytes } from 'node:crypto';
import type { SFTPWrapper } from 'ssh2';
import { Client } from 'basic-ftp';
import { download, PASSWORD } from './helpers/ftp.js';
import { feedChain, msUntil, publishRelease } from './helpers/feed.js';
import { sftpConnect } from './helpers/sftp.js';

/** Areas follow entitlements (issue 16): what an FTP/SFTP customer sees without staging anything on the web. */

function readdir(sftp: SFTPWrapper, path: string): Promise<string[]> {
  return new Promise((resolve, reject) =>
    sftp.readdir(path, (err, list) => (err ? (err.message.includes('No such file') ? resolve([]) : reject(err)) : resolve(list.map((e) => e.filename).sort()))),
  );
}

test('the first FTP login of a customer who never staged anything shows every entitled release (and not the others)', async (t) => {
  const chain = await feedChain(t);
  const contents = { '1.0.0': randomBytes(10_000), '2.0.0': randomBytes(20_000) };
  await publishRelease(chain, 'acme-db', '1.0.0', contents['1.0.0']);
  await publishRelease(chain, 'acme-db', '2.0.0', contents['2.0.0']);
  await publishRelease(chain, 'acme-tools', '1.0.0', randomBytes(1000));
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  t.deepEqual(await chain.fileHost.stager.list('globex'), [], 'nothing staged before the login');
  const client = new Client(15_000);
  t.teardown(() => client.close());
  await client.access({ host: '127.0.0.1', port: chain.fileHost.ftpAddress!.port, user: 'globex', password: PASSWORD });
  t.deepEqual(
    (await client.list('/')).map((f) => f.name),
    ['acme-db'],
    'only the entitled product',
  );
  t.deepEqual((await client.list('/acme-db')).map((f) => f.name).sort(), ['1.0.0', '2.0.0']);
  t.deepEqual(await download(client, '/acme-db/2.0.0/acme-db-2.0.0.bin'), contents['2.0.0']);
});

test.serial('a live SFTP session sees a newly published release in its next listing, and a revoked one go, within a second', async (t) => {
  const chain = await feedChain(t);
  await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
  await publishRelease(chain, 'acme-tools', '1.0.0', randomBytes(5000));
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const tools = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-tools' });
  const { sftp, close } = await sftpConnect({ port: chain.fileHost.sftpAddress!.port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  t.deepEqual(await readdir(sftp, '/acme-db'), ['1.0.0']);

  // Published straight in the internal-db (no web host orders the file host): the feed brings it.
  await publishRelease(chain, 'acme-db', '2.0.0', randomBytes(5000), { publish: false });
  const published = performance.now();
  await chain.call('release.publish', { product: 'acme-db', version: '2.0.0' });
  await msUntil(async () => (await readdir(sftp, '/acme-db')).includes('2.0.0'), 5000, 'the new release in the listing');
  const appeared = performance.now() - published;
  t.true(appeared < 1000, `the new release was listed after ${Math.round(appeared)} ms`);

  const revoked = performance.now();
  await chain.call('entitlement.revoke', { id: tools.id });
  await msUntil(async () => !(await readdir(sftp, '/')).includes('acme-tools'), 5000, 'the revoked product gone from the listing');
  const gone = performance.now() - revoked;
  t.true(gone < 1000, `the revoked release left the listing after ${Math.round(gone)} ms`);
  t.deepEqual(await readdir(sftp, '/'), ['acme-db']);
});

test('a release whose object is on another file host is skipped at the login sync, not an error', async (t) => {
  const chain = await feedChain(t);
  await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
  // An artifact whose object this file host does not have (as if stored on another one).
  const elsewhere = randomBytes(32).toString('hex');
  await chain.call('release.create', { product: 'acme-db', version: '1.1.0' });
  await chain.call('artifact.add', { product: 'acme-db', version: '1.1.0', filename: 'far.bin', size: 10, sha256: elsewhere, objectId: elsewhere });
  await chain.call('release.publish', { product: 'acme-db', version: '1.1.0' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const { sftp, close } = await sftpConnect({ port: chain.fileHost.sftpAddress!.port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  t.deepEqual(await readdir(sftp, '/acme-db'), ['1.0.0'], 'the login succeeded with what this host holds');
  const result = await chain.fileHost.areaSync.sync('globex');
  t.is(result.skipped, 1);
  t.deepEqual(result.removed, []);
});
