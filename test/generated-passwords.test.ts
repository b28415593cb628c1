import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main } from '../scripts/admin.js';
import { openDatabase } from '../services/internal-db/db/open.js';
import { seedDemo } from '../services/internal-db/demo.js';
import { generatePassword, PASSWORD_ALPHABET, verifyPassword } from '../services/internal-db/passwords.js';
import { Store } from '../services/internal-db/store/index.js';

/** A generated password: 24 characters of the safe alphabet (letters and digits, no look-alikes). */
const GENERATED = new RegExp(`^[${PASSWORD_ALPHABET}]{24}$`);

/**
 * A password a person types is handed to command-line clients (`lftp -u demo,<password>`,
 * `curl -u`, `sshpass -p`): one that starts with `-` is taken for an option there. Generated
 * passwords come from letters and digits only (before: base64url, which starts with `-` one time in 64).
 */
test('10,000 generated passwords: none starts with "-", each is 24 characters of the safe alphabet', (t) => {
  t.regex(PASSWORD_ALPHABET, /^[A-Za-z0-9]+$/, 'letters and digits only');
  t.false(/[0O1lI]/.test(PASSWORD_ALPHABET), 'no look-alikes');
  const seen = new Set<string>();
  let dashed = 0;
  let outside = 0;
  for (let n = 0; n < 10_000; n++) {
    const password = generatePassword();
    if (password.startsWith('-')) dashed++;
    if (!GENERATED.test(password)) outside++;
    seen.add(password);
  }
  t.is(dashed, 0, 'passwords starting with "-"');
  t.is(outside, 0, 'passwords with a character outside the alphabet, or of another length');
  t.is(seen.size, 10_000, 'no repeats');
  const first = new Set([...Array(2000)].map(() => generatePassword()[0]));
  t.true(first.size > PASSWORD_ALPHABET.length / 2, 'the first character varies over the alphabet');
});

test('the demo password and the admin CLI password are generated that way, and verify', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-passwords-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const db = openDatabase(join(dir, 'demo.sqlite'));
  t.teardown(() => db.close());
  const store = new Store(db, { scryptLogN: 14 });
  const demo = await seedDemo(store);
  t.regex(String(demo.password), GENERATED, 'the demo password');
  const hash = (db.prepare('SELECT password_hash FROM customers WHERE login = ?').get(demo.customer) as { password_hash: string }).password_hash;
  t.true(await verifyPassword(String(demo.password), hash));

  const env = { FFS_DATA_DIR: dir, FFS_SERVICES__INTERNAL_DB__SCRYPT_LOG_N: '14' };
  let stdout = '';
  const code = await main(['customer', 'create', '--login', 'globex', '--name', 'Globex'], { env, cwd: dir, stdout: (s) => (stdout += s), stderr: () => {} });
  t.is(code, 0);
  t.regex(/password: (\S+)/.exec(stdout)?.[1] ?? '', GENERATED, 'the admin CLI password');
});
