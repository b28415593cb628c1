import { fstatSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { OpenFileCache, type CachedFile } from '../services/ftp/common/open-file-cache.js';
import { AreaRoot } from '../services/ftp/common/path-resolver.js';
import { waitFor } from './helpers/wait.js';

/** A customer area with files a.bin … e.bin, and a root that counts the opens made through it. */
async function area(t: ExecutionContext): Promise<{ root: () => AreaRoot; opens: () => number }> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-open-files-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const name of ['a', 'b', 'c', 'd', 'e']) await writeFile(join(dir, `${name}.bin`), name);
  const root = new AreaRoot(dir);
  let opens = 0;
  return {
    root: () => {
      opens++;
      return root;
    },
    opens: () => opens,
  };
}

/** Whether the file's descriptor is still open on that file (a closed number may since name another file). */
function isOpen(file: CachedFile): boolean {
  try {
    const now = fstatSync(file.fd);
    return now.ino === file.stats.ino && now.dev === file.stats.dev;
  } catch {
    return false; // EBADF
  }
}

test('requests within the time share one descriptor, opened once; an unheld one stays open in the cache', async (t) => {
  const { root, opens } = await area(t);
  const cache = new OpenFileCache({ ttlMs: 60_000 });
  t.teardown(() => cache.clear());
  const first = cache.acquire('globex', '/a.bin', root);
  const second = cache.acquire('globex', '/a.bin', root);
  t.is(second.file, first.file);
  t.is(opens(), 1);
  first.release();
  second.release();
  second.release(); // a second release of the same hold changes nothing
  t.true(isOpen(first.file), 'kept for the next request');
  const third = cache.acquire('globex', '/a.bin', root);
  t.is(third.file.fd, first.file.fd);
  t.is(opens(), 1);
  third.release();
});

test('invalidation and clear close unheld descriptors at once and held ones at their last release, never before', async (t) => {
  const { root } = await area(t);
  const cache = new OpenFileCache({ ttlMs: 60_000 });
  const idle = cache.acquire('globex', '/a.bin', root);
  idle.release();
  const held = cache.acquire('globex', '/b.bin', root);
  const heldTwice = cache.acquire('globex', '/b.bin', root);
  const other = cache.acquire('initech', '/a.bin', root);
  other.release();
  cache.invalidate('globex');
  t.false(isOpen(idle.file), 'unheld: closed at once');
  t.true(isOpen(held.file), 'held: still open');
  t.true(isOpen(other.file), "another customer's entry is untouched");
  const fresh = cache.acquire('globex', '/b.bin', root);
  t.not(fresh.file, held.file, 'an invalidated entry is not served again');
  fresh.release();
  held.release();
  t.true(isOpen(held.file), 'one holder left');
  heldTwice.release();
  t.false(isOpen(held.file), 'the last release closes it');
  const reading = cache.acquire('initech', '/a.bin', root);
  cache.clear();
  t.false(isOpen(fresh.file));
  t.true(isOpen(reading.file), 'clear does not close a descriptor being read');
  reading.release();
  t.false(isOpen(reading.file));
});

test('beyond maxEntries the least recently used entry leaves: closed at once when unheld, at its release when held', async (t) => {
  const { root } = await area(t);
  const cache = new OpenFileCache({ ttlMs: 60_000, maxEntries: 2 });
  t.teardown(() => cache.clear());
  const a = cache.acquire('globex', '/a.bin', root); // held throughout
  const b = cache.acquire('globex', '/b.bin', root);
  b.release();
  const c = cache.acquire('globex', '/c.bin', root); // a is the least recently used: it leaves the cache
  c.release();
  t.true(isOpen(a.file), 'evicted but held: open');
  t.true(isOpen(b.file));
  a.release();
  t.false(isOpen(a.file), 'evicted, then released: closed');
  const d = cache.acquire('globex', '/d.bin', root); // b leaves, unheld
  d.release();
  t.false(isOpen(b.file), 'evicted and unheld: closed at once');
  t.true(isOpen(c.file));
  t.true(isOpen(d.file));
});

test('an entry expires on its own: an idle descriptor is closed without a later request, a held one at its release', async (t) => {
  const { root } = await area(t);
  const cache = new OpenFileCache({ ttlMs: 50 });
  t.teardown(() => cache.clear());
  const idle = cache.acquire('globex', '/a.bin', root);
  idle.release();
  const held = cache.acquire('globex', '/b.bin', root);
  await waitFor(() => !isOpen(idle.file), 5000, 'the idle descriptor to be closed at expiry');
  // The expired entry is not served again: the next request opens the file afresh.
  const fresh = cache.acquire('globex', '/b.bin', root);
  t.not(fresh.file, held.file);
  t.true(isOpen(held.file), 'expired but held: open');
  held.release();
  t.false(isOpen(held.file), 'closed at its release');
  fresh.release();
});

test('with ttlMs 0 nothing is cached: every request opens the file and its release closes it', async (t) => {
  const { root, opens } = await area(t);
  const cache = new OpenFileCache({ ttlMs: 0 });
  const first = cache.acquire('globex', '/a.bin', root);
  const second = cache.acquire('globex', '/a.bin', root);
  t.is(opens(), 2);
  t.not(second.file, first.file);
  first.release();
  t.false(isOpen(first.file));
  t.true(isOpen(second.file));
  second.release();
  t.false(isOpen(second.file));
});
