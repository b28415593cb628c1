import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FileChecksums } from '../services/ftp/repository/file-checksums.js';
import { HashPool } from '../services/ftp/repository/hash-pool.js';
import type { ChecksumAlgorithm } from '../services/ftp/repository/checksum-algorithms.js';

async function fixture(t: ExecutionContext) {
  const dir = await mkdtemp(join(tmpdir(), 'checksums-'));
  const pool = new HashPool({ maxThreads: 1 });
  t.teardown(async () => {
    await pool.close();
    await rm(dir, { recursive: true, force: true });
  });
  const reads: string[] = [];
  const checksums = new FileChecksums({
    sha256Of: async (path) => {
      reads.push(`sha256:${path}`);
      return (await pool.hashFile(path)).sha256;
    },
    hashFile: (path, algorithm) => {
      reads.push(`${algorithm}:${path}`);
      return pool.checksumFile(path, algorithm);
    },
  });
  return { dir, checksums, reads };
}

test('SHA-1 and MD5 match node:crypto, and are read once per object whatever the path (hard links share them)', async (t) => {
  const { dir, checksums, reads } = await fixture(t);
  const content = randomBytes(3 * 1024 * 1024 + 5);
  const object = join(dir, 'object');
  await writeFile(object, content);
  await link(object, join(dir, 'staged-a'));
  await link(object, join(dir, 'staged-b'));
  for (const algorithm of ['sha1', 'md5'] as ChecksumAlgorithm[]) {
    const expected = createHash(algorithm).update(content).digest('hex');
    const [a, b] = await Promise.all([
      checksums.of(join(dir, 'staged-a'), await stat(join(dir, 'staged-a')), algorithm),
      checksums.of(join(dir, 'staged-b'), await stat(join(dir, 'staged-b')), algorithm),
    ]);
    t.is(a, expected);
    t.is(b, expected);
    t.is(await checksums.of(object, await stat(object), algorithm), expected);
  }
  t.deepEqual(
    reads.map((r) => r.split(':')[0]),
    ['sha1', 'md5'],
    'one read per algorithm for the three names of one object, concurrent requests included',
  );
});

test('a file replaced under the same name is hashed again (the cache is by inode, size and mtime)', async (t) => {
  const { dir, checksums } = await fixture(t);
  const path = join(dir, 'file');
  await writeFile(path, 'first');
  t.is(await checksums.of(path, await stat(path), 'md5'), createHash('md5').update('first').digest('hex'));
  await rm(path);
  await writeFile(path, 'second, longer');
  t.is(await checksums.of(path, await stat(path), 'md5'), createHash('md5').update('second, longer').digest('hex'));
});

test('SHA-256 is the repository digest (never re-read here), and a missing file is an error, not a cached answer', async (t) => {
  const { dir, checksums, reads } = await fixture(t);
  const path = join(dir, 'file');
  await writeFile(path, 'content');
  t.is(await checksums.of(path, await stat(path), 'sha256'), createHash('sha256').update('content').digest('hex'));
  t.deepEqual(reads, [`sha256:${path}`]);
  const gone = join(dir, 'gone');
  await writeFile(gone, 'x');
  const stats = await stat(gone);
  await rm(gone);
  await t.throwsAsync(checksums.of(gone, stats, 'sha1'), { message: /ENOENT/ });
  await writeFile(gone, 'x');
  t.is(await checksums.of(gone, await stat(gone), 'sha1'), createHash('sha1').update('x').digest('hex'));
});
