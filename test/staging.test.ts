import test from 'ava';
import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { silentLogger } from '../lib/log/logger.js';
import { FileHostService } from '../services/ftp/service.js';
import { publish, startChain, ticketKeys, type Chain } from './helpers/chain.js';
import { makeBag } from './helpers/commlink.js';
import * as FileHost from '../lib/contracts/file-host/operations.js';

async function customer(chain: Chain, login: string, range = '*'): Promise<number> {
  const existing = (await chain.call('customer.list')).customers as { login: string }[];
  if (!existing.some((c) => c.login === login)) await chain.call('customer.create', { login, name: login, password: 'correct horse battery' });
  return (await chain.call('entitlement.grant', { customer: login, product: 'acme-db', range })).id as number;
}

const objectPath = (chain: Chain, id: string) => join(chain.fileDir, 'repository', 'objects', id.slice(0, 2), id);
const areaPath = (chain: Chain, login: string, path: string) => join(chain.fileDir, 'areas', login, path);

test('a 1 GiB file and a 1 KiB file are staged as hard links to the repository object', async (t) => {
  const chain = await startChain(t);
  await writeFile(join(chain.fileDir, 'inbox', 'big.img'), '');
  await truncate(join(chain.fileDir, 'inbox', 'big.img'), 1024 ** 3); // sparse: the inode is what matters here
  const big = await chain.web.fileHosts.ask(chain.web.fileHosts.pick(), FileHost.ingestInbox, { name: 'big.img' });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  await chain.call('release.create', { product: 'acme-db', version: '9.0.0' });
  await chain.call('artifact.add', {
    product: 'acme-db',
    version: '9.0.0',
    filename: 'big.img',
    size: 1024 ** 3,
    sha256: big.objectId,
    objectId: big.objectId,
  });
  await chain.call('release.publish', { product: 'acme-db', version: '9.0.0' });
  const small = await publish(chain, '1.0.0', randomBytes(1024));
  await customer(chain, 'globex');

  for (const [version, objectId, size] of [
    ['9.0.0', big.objectId, 1024 ** 3],
    ['1.0.0', small, 1024],
  ] as const) {
    const staged = await chain.web.fulfillment.stage('globex', 'acme-db', version);
    t.is(staged.files.length, 1);
    t.is(staged.files[0]!.method, 'link');
    const area = await stat(areaPath(chain, 'globex', staged.files[0]!.path));
    const object = await stat(objectPath(chain, objectId));
    t.is(area.ino, object.ino, `${version}: the area file is the object's inode`);
    t.is(area.size, size);
    t.is(object.nlink, 2);
    t.is(area.mode & 0o777, 0o444, 'read-only');
    // Idempotent, and safe when repeated concurrently.
    const again = await Promise.all([1, 2, 3].map(() => chain.web.fulfillment.stage('globex', 'acme-db', version)));
    t.deepEqual(
      again.map((s) => s.files[0]!.method),
      ['already', 'already', 'already'],
    );
    t.is((await stat(objectPath(chain, objectId))).nlink, 2);
  }
});

test('a changed file in an area is replaced by the object, atomically', async (t) => {
  const chain = await startChain(t);
  const content = randomBytes(5000);
  await publish(chain, '1.0.0', content);
  await customer(chain, 'globex');
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  const path = areaPath(chain, 'globex', staged.files[0]!.path);
  await rm(path);
  await writeFile(path, 'not the artifact');
  const again = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  t.is(again.files[0]!.method, 'link');
  t.true((await readFile(path)).equals(content));
});

test('EMLINK: an object at the link-count limit is staged by linking a fresh copy', async (t) => {
  const chain = await startChain(t);
  const content = randomBytes(4096);
  const objectId = await publish(chain, '1.0.0', content);
  await customer(chain, 'globex');
  await customer(chain, 'initech');
  // Fill the object's link count up to the filesystem's limit (65000 on ext4).
  const filler = join(chain.fileDir, 'filler');
  mkdirSync(filler);
  let links = 1;
  let limited = false;
  for (; links < 200_000; links++) {
    try {
      linkSync(objectPath(chain, objectId), join(filler, String(links)));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EMLINK') throw err;
      limited = true;
      break;
    }
  }
  t.true(limited, `the filesystem under ${chain.fileDir} reached its link-count limit (${links} links)`);
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  t.is(staged.files[0]!.method, 'link-to-copy');
  const copy = `${objectPath(chain, objectId)}.1`;
  const area = await stat(areaPath(chain, 'globex', staged.files[0]!.path));
  t.is(area.ino, (await stat(copy)).ino, 'linked to the copy');
  t.is((await stat(copy)).mode & 0o777, 0o444);
  t.true((await readFile(areaPath(chain, 'globex', staged.files[0]!.path))).equals(content));
  // The next customer links to the same copy: no second copy.
  const second = await chain.web.fulfillment.stage('initech', 'acme-db', '1.0.0');
  t.is(second.files[0]!.method, 'link-to-copy');
  t.is((await stat(areaPath(chain, 'initech', second.files[0]!.path))).ino, area.ino);
  const info = await chain.web.fileHosts.ask(chain.web.fileHosts.pick(), FileHost.objectStat, { objectId });
  t.is(info.copies, 1);
  // Served over HTTP with the object's SHA-256.
  const res = await fetch(second.files[0]!.url);
  t.is(res.headers.get('x-checksum-sha256'), objectId);
  t.true(Buffer.from(await res.arrayBuffer()).equals(content));
});

test('EXDEV: areas on another filesystem are refused at start, or staged by copy when allowed', async (t) => {
  const shm = await mkdtemp('/dev/shm/ffs-areas-');
  t.teardown(() => rm(shm, { recursive: true, force: true }));
  const devices = [(await stat('/dev/shm')).dev, (await stat(await mkdtemp('/tmp/ffs-probe-'))).dev];
  t.not(devices[0], devices[1], '/dev/shm and /tmp are different filesystems here');
  const base = await mkdtemp('/tmp/ffs-exdev-');
  t.teardown(() => rm(base, { recursive: true, force: true }));
  const options = {
    name: 'file-x',
    host: '127.0.0.1',
    httpPort: 0,
    publicHttpUrl: '',
    repositoryDir: join(base, 'repository'),
    areasDir: join(shm, 'areas'),
    inboxDir: join(base, 'inbox'),
    allowCrossDevice: false,
    auditBatchSize: 10,
    auditFlushMs: 50,
    ticketCacheEntries: 10,
    openFileCacheMs: 1000,
    httpWorkers: 1,
    ticketPublicKeyPem: ticketKeys().publicKeyPem,
    web: { host: '127.0.0.1', port: 1 },
    commlink: { bag: makeBag() },
    log: silentLogger,
    webWaitMs: 0,
  };
  const refused = await t.throwsAsync(FileHostService.start(options));
  t.is((refused as { code?: string }).code, 'ERR_CROSS_DEVICE');
  t.regex(refused!.message, /different filesystems.*allowCrossDevice/);

  const chain = await startChain(t, { fileHost: { areasDir: join(shm, 'areas2'), allowCrossDevice: true } });
  t.false(chain.fileHost.linkable);
  const content = randomBytes(300_000);
  const objectId = await publish(chain, '1.0.0', content);
  await customer(chain, 'globex');
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  t.true(['reflink', 'copy'].includes(staged.files[0]!.method), staged.files[0]!.method);
  const file = join(shm, 'areas2', 'globex', staged.files[0]!.path);
  t.true((await readFile(file)).equals(content));
  t.is((await stat(file)).mode & 0o777, 0o444);
  t.is((await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0')).files[0]!.method, 'already');
  const res = await fetch(staged.files[0]!.url);
  t.is(res.headers.get('etag'), `"${objectId}"`);
  t.true(Buffer.from(await res.arrayBuffer()).equals(content));
});

test('prune removes what a customer is no longer entitled to, and only that', async (t) => {
  // What the web host orders, alone: the change feed would prune (and stage) by itself.
  const chain = await startChain(t, { fileHost: { followChanges: false } });
  const one = await publish(chain, '1.0.0', randomBytes(1000));
  await publish(chain, '2.0.0', randomBytes(1000));
  const all = await customer(chain, 'globex');
  await customer(chain, 'initech');
  await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  await chain.web.fulfillment.stage('globex', 'acme-db', '2.0.0');
  await chain.web.fulfillment.stage('initech', 'acme-db', '1.0.0');
  await chain.call('entitlement.revoke', { id: all });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db', range: '>=2.0.0' });
  const removed = await chain.web.fulfillment.prune('globex');
  t.deepEqual(removed, ['/acme-db/1.0.0/acme-db-1.0.0.tar.gz']);
  const list = async (login: string) =>
    (await chain.web.fileHosts.ask(chain.web.fileHosts.pick(), FileHost.stagedList, { customer: login })).files.map((f) => f.path);
  t.deepEqual(await list('globex'), ['/acme-db/2.0.0/acme-db-2.0.0.tar.gz']);
  t.deepEqual(await list('initech'), ['/acme-db/1.0.0/acme-db-1.0.0.tar.gz'], "another customer's staging is untouched");
  t.is((await stat(objectPath(chain, one))).nlink, 2, 'the object stays in the repository');
  // Staging reports what it pruned too: the web host sends the current entitlements along.
  await chain.web.fulfillment.stage('initech', 'acme-db', '2.0.0');
  await chain.call('entitlement.revoke', { id: ((await chain.call('entitlements.list', { customer: 'initech' })).entitlements as { id: number }[])[0]!.id });
  await chain.call('entitlement.grant', { customer: 'initech', product: 'acme-db', range: '2.x' });
  const restaged = await chain.web.fulfillment.stage('initech', 'acme-db', '2.0.0');
  t.deepEqual(restaged.pruned, ['/acme-db/1.0.0/acme-db-1.0.0.tar.gz']);
  // Unstage removes a release on command.
  t.deepEqual(await chain.web.fileHosts.ask(chain.web.fileHosts.pick(), FileHost.unstage, { customer: 'initech', product: 'acme-db', version: '2.0.0' }), {
    removed: ['/acme-db/2.0.0/acme-db-2.0.0.tar.gz'],
  });
  t.deepEqual(await list('initech'), []);
});

test('stage refuses what the customer is not entitled to, and bad names', async (t) => {
  const chain = await startChain(t);
  await publish(chain, '1.0.0', randomBytes(100));
  await customer(chain, 'globex', '>=2.0.0');
  const err = await t.throwsAsync(chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0'));
  t.is((err as { code?: string }).code, 'ERR_NOT_ENTITLED');
  const fh = chain.web.fileHosts.pick();
  for (const bad of [
    { product: '..', version: '1', filename: 'x' },
    { product: 'a', version: 'b/c', filename: 'x' },
    { product: 'a', version: '1', filename: 'x\\y' },
  ]) {
    const e = await t.throwsAsync(chain.web.fileHosts.ask(fh, FileHost.stage, { customer: 'globex', items: [{ objectId: 'a'.repeat(64), ...bad }] }));
    t.is((e as { code?: string }).code, 'ERR_INVALID_INPUT', JSON.stringify(bad));
  }
  const missing = await t.throwsAsync(
    chain.web.fileHosts.ask(fh, FileHost.stage, { customer: 'globex', items: [{ objectId: 'a'.repeat(64), product: 'p', version: '1', filename: 'f' }] }),
  );
  t.is((missing as { code?: string }).code, 'ERR_NOT_FOUND');
});
