/**
 * Two file hosts sharing one repository directory (a shared volume), each with its own areas: what
 * one ingests the other finds and stages, and one starting never removes the other's ingest in
 * progress. (test/failover.test.ts relies on this when the survivor stages what the dead host stored.)
 */
import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { silentLogger } from '../lib/log/logger.js';
import { Areas } from '../services/ftp/common/areas.js';
import { HashPool } from '../services/ftp/repository/hash-pool.js';
import { Repository } from '../services/ftp/repository/repository.js';
import { Stager } from '../services/ftp/staging/stager.js';
import { waitFor } from './helpers/chain.js';

test("an object ingested by one file host is found, indexed and staged by hard link by another sharing the repository; opening the second leaves the first one's ingest in progress alone", async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-shared-repo-'));
  const pool = new HashPool({ maxThreads: 1 });
  t.teardown(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });
  const repositoryDir = join(dir, 'repository');
  const a = await Repository.open(repositoryDir, pool, silentLogger, 'file-a');

  // file-a is ingesting when file-b starts on the same repository.
  const content = randomBytes(3 * 1024 * 1024);
  const source = new PassThrough();
  const ingest = a.ingestStream(source, { size: content.length });
  source.write(content.subarray(0, 1024 * 1024));
  await waitFor(async () => (await readdir(a.tmpDir)).length === 1, 5000, "file-a's temporary file");
  const b = await Repository.open(repositoryDir, pool, silentLogger, 'file-b');
  t.not(b.tmpDir, a.tmpDir);
  t.is((await readdir(a.tmpDir)).length, 1, "file-b's start left file-a's partial ingest in place");
  source.end(content.subarray(1024 * 1024));
  const stored = await ingest;
  t.is(stored.objectId, createHash('sha256').update(content).digest('hex'));
  t.true(stored.created);

  // file-b started before the object existed: it finds it by path, and indexes it as it does.
  const object = await b.statObject(stored.objectId);
  t.is(object.size, content.length);
  t.is(b.digests.get(object), stored.objectId);
  const again = await b.ingestStream(PassThrough.from([content]));
  t.false(again.created, 'the same bytes through file-b change nothing');

  // file-b stages it into its own areas, by hard link to the one object.
  const stager = new Stager(b, new Areas(join(dir, 'areas-b')), silentLogger);
  const [file] = await stager.stage('globex', [{ objectId: stored.objectId, product: 'acme-db', version: '1.0.0', filename: 'acme-db.tar.gz' }]);
  t.is(file!.method, 'link');
  const staged = await stat(join(dir, 'areas-b', 'globex', 'acme-db', '1.0.0', 'acme-db.tar.gz'));
  t.is(staged.ino, object.ino);
  t.is(await b.digestOf('(not hashed: indexed)', staged), stored.objectId, "the staged file's digest comes from the index, not a hash of the file");
});

test('a repository owner must be a file host name (it names a folder)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-shared-repo-'));
  const pool = new HashPool({ maxThreads: 1 });
  t.teardown(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });
  for (const owner of ['../x', 'A', '.hidden', 'a/b']) {
    const err = await t.throwsAsync(Repository.open(join(dir, 'repository'), pool, silentLogger, owner));
    t.is((err as { code?: string }).code, 'ERR_INVALID_INPUT', owner);
  }
});
