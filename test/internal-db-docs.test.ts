import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Backups } from '../services/internal-db/backup.js';
import { openDatabase, migrate, schemaVersion } from '../services/internal-db/db/open.js';
import { MIGRATIONS } from '../services/internal-db/db/migrations.js';
import { waitFor } from './helpers/wait.js';

test('scheduled backups run on their interval and keep only the newest ones', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-backup-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'db.sqlite'));
  db.prepare('INSERT INTO vendors (name, created_at) VALUES (?, ?)').run('Acme', new Date().toISOString());
  const backups = new Backups(db, join(dir, 'backups'), 2);
  const errors: unknown[] = [];
  backups.schedule(40, (err) => errors.push(err));
  // Three scheduled backups seen (names carry their time): the third was followed by a prune.
  const seen = new Set<string>();
  await waitFor(
    async () => {
      for (const f of await readdir(join(dir, 'backups')).catch(() => [])) if (f.startsWith('scheduled-')) seen.add(f);
      return seen.size >= 3;
    },
    10_000,
    () => `three scheduled backups (seen ${[...seen].join(', ')}; errors ${String(errors)})`,
  );
  await backups.close(); // waits for the backup and prune in progress
  db.close();
  const files = (await readdir(join(dir, 'backups'))).filter((f) => f.startsWith('scheduled-'));
  t.deepEqual(errors, []);
  t.is(files.length, 2, `kept ${files.join(', ')}`);
  const copy = openDatabase(join(dir, 'backups', files[1] as string), { readonly: true });
  t.is((copy.prepare('SELECT count(*) AS n FROM vendors').get() as { n: number }).n, 1);
  copy.close();
});

test('migrations are versioned: a new database reaches the latest, a newer one is refused', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-migrate-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'db.sqlite'));
  t.is(schemaVersion(db), MIGRATIONS.at(-1)!.version);
  t.deepEqual(migrate(db, MIGRATIONS), [], 'nothing to apply twice');
  t.is(db.pragma('journal_mode', { simple: true }), 'wal');
  t.is(db.pragma('foreign_keys', { simple: true }), 1);
  db.pragma('user_version = 99');
  db.close();
  t.throws(() => openDatabase(join(dir, 'db.sqlite')), { message: /newer than this program knows/ });
});
