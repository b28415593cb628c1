import { execFile } from 'node:child_process';
import { randomBytes, createPrivateKey, createPublicKey, createSign, createVerify } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import { Errors } from '../lib/commlink/errors.js';
import { KeyBag } from '../lib/commlink/keybag.js';
import { bagId, formatKeyBag, generateKeys, loadKeyBag, parseKeyBag, readKeyBagFile, writeKeyBagFile } from '../lib/commlink/keybag-file.js';
import { main as genKeybag } from '../scripts/gen-keybag.js';
import { main as genRsa } from '../scripts/gen-rsa.js';
import { isError } from '../lib/errors/index.js';

const run = promisify(execFile);
const root = fileURLToPath(new URL('../..', import.meta.url));

async function tempDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), 'ffs-secrets-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

const modeOf = async (p: string) => (await stat(p)).mode & 0o777;

/** Runs a script's main() in-process with its own env and captured output. */
async function runMain(main: typeof genKeybag, argv: string[], env: Record<string, string>, cwd: string) {
  let stdout = '';
  let stderr = '';
  const code = await main(argv, { env, cwd, stdout: (s) => (stdout += s), stderr: (s) => (stderr += s) });
  return { code, stdout, stderr };
}

function keyLines(text: string): string[] {
  return text.split('\n').slice(1).filter(Boolean);
}

test('format and parse round trip', (t) => {
  for (const n of [1, 2, 128]) {
    const keys = generateKeys(n);
    const text = formatKeyBag(keys);
    t.true(text.startsWith(`FFS-KEYBAG/1 n=${n}\n`));
    t.true(text.endsWith('\n'));
    t.false(text.endsWith('\n\n'));
    t.is(text.split('\n').length, n + 2);
    const parsed = parseKeyBag(text);
    t.is(parsed.length, n);
    parsed.forEach((k, i) => t.true(k.equals(keys[i]!)));
  }
});

test('format is the exact wire text', (t) => {
  const keys = [Buffer.alloc(32, 0), Buffer.alloc(32, 0xff)];
  t.is(formatKeyBag(keys), `FFS-KEYBAG/1 n=2\n${'A'.repeat(43)}=\n${'/'.repeat(42)}8=\n`);
});

test('bagId is the first 16 hex digits of SHA-256 over the keys, like KeyBag.idHex', (t) => {
  const keys = generateKeys(5);
  t.regex(bagId(keys), /^[0-9a-f]{16}$/);
  t.is(bagId(keys), new KeyBag(keys).idHex);
});

test('format refuses bad keys and counts', (t) => {
  t.throws(() => formatKeyBag([]), { code: Errors.KEYBAG_FORMAT.code });
  t.throws(() => formatKeyBag([randomBytes(31)]), { code: Errors.KEYBAG_FORMAT.code });
  t.throws(() => generateKeys(0), { code: Errors.KEYBAG_FORMAT.code });
  t.throws(() => generateKeys(65537), { code: Errors.KEYBAG_FORMAT.code });
});

function parseError(t: ExecutionContext, text: string, line: number, pattern?: RegExp) {
  const err = t.throws(() => parseKeyBag(text));
  t.true(isError(err, Errors.KEYBAG_FORMAT), String(err));
  t.true(err!.message.includes(`line ${line}`), err!.message);
  if (pattern) t.regex(err!.message, pattern);
}

test('parse rejects a bad header', (t) => {
  const body = keyLines(formatKeyBag(generateKeys(2)))
    .map((l) => `${l}\n`)
    .join('');
  parseError(t, '', 1);
  parseError(t, `FFS-KEYBAG/2 n=2\n${body}`, 1);
  parseError(t, `FFS-KEYBAG/1 n=02\n${body}`, 1);
  parseError(t, `FFS-KEYBAG/1 n=0\n`, 1);
  parseError(t, `FFS-KEYBAG/1  n=2\n${body}`, 1);
  parseError(t, `ffs-keybag/1 n=2\n${body}`, 1);
  parseError(t, `FFS-KEYBAG/1 n=65537\n${body}`, 1);
  parseError(t, `FFS-KEYBAG/1 n=2\r\n${body}`, 1);
});

test('parse rejects a short key, a bad encoding, an extra line and a wrong count', (t) => {
  const keys = generateKeys(3);
  const lines = keyLines(formatKeyBag(keys));
  const bag = (header: string, ls: string[]) => `${header}\n${ls.map((l) => `${l}\n`).join('')}`;
  // short key: 31 bytes
  parseError(t, bag('FFS-KEYBAG/1 n=3', [lines[0]!, randomBytes(31).toString('base64'), lines[2]!]), 3, /key 1/);
  // long key: 33 bytes
  parseError(t, bag('FFS-KEYBAG/1 n=3', [lines[0]!, lines[1]!, randomBytes(33).toString('base64')]), 4);
  // unpadded / url-safe / with whitespace
  parseError(t, bag('FFS-KEYBAG/1 n=3', [lines[0]!.replace(/=$/, ''), lines[1]!, lines[2]!]), 2);
  parseError(t, bag('FFS-KEYBAG/1 n=1', [Buffer.alloc(32, 0xff).toString('base64url') + '=']), 2);
  parseError(t, bag('FFS-KEYBAG/1 n=3', [lines[0]!, ` ${lines[1]!}`, lines[2]!]), 3);
  parseError(t, bag('FFS-KEYBAG/1 n=3', [lines[0]!, lines[1]!, `${lines[2]!}\r`]), 4);
  // extra line after the last key, and an extra empty line
  parseError(t, bag('FFS-KEYBAG/1 n=2', lines), 4, /after the last/);
  parseError(t, `${formatKeyBag(keys)}\n`, 5, /after the last/);
  // fewer keys than declared
  parseError(t, bag('FFS-KEYBAG/1 n=4', lines), 5, /found end of file/);
  // no newline after the last key
  parseError(t, formatKeyBag(keys).slice(0, -1), 4, /final newline/);
});

test('parse errors never quote a key', (t) => {
  const keys = generateKeys(2);
  const lines = keyLines(formatKeyBag(keys));
  const err = t.throws(() => parseKeyBag(`FFS-KEYBAG/1 n=2\n${lines[0]}x\n${lines[1]}\n`));
  t.false(err!.message.includes(lines[0]!));
});

test('the written bag is 0600 in a 0700 directory, and reads back', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'data', 'secrets', 'keybag');
  const keys = generateKeys(8);
  await writeKeyBagFile(file, keys);
  t.is(await modeOf(file), 0o600);
  t.is(await modeOf(path.dirname(file)), 0o700);
  t.is(await modeOf(path.join(dir, 'data')), 0o700);
  const read = await readKeyBagFile(file);
  t.deepEqual(
    read.map((k) => k.toString('hex')),
    keys.map((k) => k.toString('hex')),
  );
  t.deepEqual((await readdir(path.dirname(file))).sort(), ['keybag'], 'no temp file left behind');
});

test('a bag that group or others can read is refused', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'keybag');
  await writeKeyBagFile(file, generateKeys(2));
  await chmod(file, 0o644);
  const err = await t.throwsAsync(readKeyBagFile(file));
  t.true(isError(err, Errors.KEYBAG_PERMISSIONS), String(err));
  t.true(err!.message.includes(`chmod 600 ${file}`), err!.message);
  await chmod(file, 0o640);
  await t.throwsAsync(readKeyBagFile(file), { code: Errors.KEYBAG_PERMISSIONS.code });
  // Any permission for group or others (mode & 0o077), not only reading: PROTOCOL.md §2.
  for (const mode of [0o620, 0o602, 0o610, 0o601]) {
    await chmod(file, mode);
    await t.throwsAsync(readKeyBagFile(file), { code: Errors.KEYBAG_PERMISSIONS.code }, mode.toString(8));
  }
  await chmod(file, 0o400);
  t.is((await readKeyBagFile(file)).length, 2);
});

test("a service without its link's bag fails naming the setting and what to run; an old single bag is named as such", async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'secrets', 'keybag-internal-db');
  let err = await t.throwsAsync(loadKeyBag(file, 'commlink.internalDbBagPath'), { code: 'ERR_CONFIG' });
  t.regex(
    err!.message,
    /^commlink\.internalDbBagPath: no key bag at .*keybag-internal-db\. Each commlink link has its own key bag: make them with `npm run keys`/,
  );
  t.notRegex(err!.message, /earlier version/);
  await writeKeyBagFile(path.join(dir, 'secrets', 'keybag'), generateKeys(2));
  err = await t.throwsAsync(loadKeyBag(file, 'commlink.internalDbBagPath'), { code: 'ERR_CONFIG' });
  t.true(err!.message.includes(`${path.join(dir, 'secrets', 'keybag')} is the single bag of an earlier version, no longer read`), err!.message);
  await writeKeyBagFile(file, generateKeys(3));
  t.is((await loadKeyBag(file, 'commlink.internalDbBagPath')).size, 3);
});

test('a malformed bag file names the file and the line', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'keybag');
  await writeFile(file, 'FFS-KEYBAG/1 n=1\nnope\n', { mode: 0o600 });
  const err = await t.throwsAsync(readKeyBagFile(file), { code: Errors.KEYBAG_FORMAT.code });
  t.regex(err!.message, /keybag: key bag line 2/);
});

test('an existing bag is not overwritten unless asked', async (t) => {
  const dir = await tempDir(t);
  const file = path.join(dir, 'keybag');
  const first = generateKeys(2);
  await writeKeyBagFile(file, first);
  await t.throwsAsync(writeKeyBagFile(file, generateKeys(2)), { code: 'EEXIST' });
  t.is(bagId(await readKeyBagFile(file)), bagId(first));
  const second = generateKeys(3);
  await writeKeyBagFile(file, second, { overwrite: true });
  t.is(bagId(await readKeyBagFile(file)), bagId(second));
  t.is(await modeOf(file), 0o600);
  t.deepEqual(await readdir(dir), ['keybag']);
});

test('gen-keybag writes one bag per link from config, prints no key, and is idempotent', async (t) => {
  const dir = await tempDir(t);
  const env = { FFS_DATA_DIR: dir, FFS_COMMLINK__KEY_COUNT: '5' };
  const files = [path.join(dir, 'secrets', 'keybag-file-host'), path.join(dir, 'secrets', 'keybag-internal-db')];

  const first = await runMain(genKeybag, [], env, dir);
  t.is(first.code, 0, first.stderr);
  t.is(first.stderr, '');
  t.is(first.stdout.trim().split('\n').length, 2, 'one line per bag');
  const texts: string[] = [];
  for (const file of files) {
    t.is(await modeOf(file), 0o600);
    const text = await readFile(file, 'utf8');
    texts.push(text);
    const keys = parseKeyBag(text);
    t.is(keys.length, 5);
    t.true(first.stdout.includes(file));
    t.true(first.stdout.includes(bagId(keys)));
    for (const line of keyLines(text)) t.false(first.stdout.includes(line));
    for (const key of keys) t.false(first.stdout.includes(key.toString('hex')));
  }
  t.is(await modeOf(path.join(dir, 'secrets')), 0o700);
  t.regex(first.stdout, /web host ↔ file host link/);
  t.regex(first.stdout, /web host ↔ internal-db link/);
  t.not(bagId(parseKeyBag(texts[0]!)), bagId(parseKeyBag(texts[1]!)), 'the two links do not share a bag');

  const again = await runMain(genKeybag, [], env, dir);
  t.is(again.code, 0, again.stderr);
  t.is(again.stdout.match(/exists/g)?.length, 2);
  for (const [i, file] of files.entries()) t.is(await readFile(file, 'utf8'), texts[i], 'an existing bag is kept');

  const forced = await runMain(genKeybag, ['--force', '--count', '3', '--link', 'internal-db'], env, dir);
  t.is(forced.code, 0, forced.stderr);
  t.is(parseKeyBag(await readFile(files[1]!, 'utf8')).length, 3, '--link internal-db replaced that bag');
  t.is(await readFile(files[0]!, 'utf8'), texts[0], '… and only that one');
  t.is(await modeOf(files[1]!), 0o600);
});

test('gen-keybag names the single bag of an earlier version as unused', async (t) => {
  const dir = await tempDir(t);
  await writeKeyBagFile(path.join(dir, 'secrets', 'keybag'), generateKeys(2));
  const r = await runMain(genKeybag, [], { FFS_DATA_DIR: dir }, dir);
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.includes(`note: ${path.join(dir, 'secrets', 'keybag')} is the single key bag of an earlier version; no service reads it any more`));
});

test('gen-keybag --link --out, bad flags and bad config', async (t) => {
  const dir = await tempDir(t);
  const env = { FFS_DATA_DIR: dir };
  const out = await runMain(genKeybag, ['--link', 'file-host', '--out', 'elsewhere/bag', '--count', '2'], env, dir);
  t.is(out.code, 0, out.stderr);
  t.is(parseKeyBag(await readFile(path.join(dir, 'elsewhere', 'bag'), 'utf8')).length, 2);
  t.deepEqual(await readdir(dir), ['elsewhere'], 'nothing else written');

  for (const argv of [
    ['--bogus'],
    ['--count', 'x'],
    ['--count', '0'],
    ['--count', '65537'],
    ['positional'],
    ['--count'],
    ['--link', 'both'],
    ['--out', 'x'],
    ['--link', 'file-host', '--out', ''],
  ]) {
    const r = await runMain(genKeybag, argv, env, dir);
    t.is(r.code, 2, argv.join(' '));
    t.regex(r.stderr, /usage: gen-keybag/);
    t.is(r.stdout, '');
  }
  const bad = await runMain(genKeybag, [], { ...env, FFS_COMMLINK__KEY_COUNT: 'many' }, dir);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /commlink\.keyCount .*FFS_COMMLINK__KEY_COUNT/);
});

test('gen-keybag refuses to accept an existing bag with loose permissions', async (t) => {
  const dir = await tempDir(t);
  const env = { FFS_DATA_DIR: dir };
  t.is((await runMain(genKeybag, ['--count', '2'], env, dir)).code, 0);
  const file = path.join(dir, 'secrets', 'keybag-internal-db');
  await chmod(file, 0o644);
  const r = await runMain(genKeybag, [], env, dir);
  t.is(r.code, 1);
  t.true(r.stderr.includes(`chmod 600 ${file}`));
});

test('gen-rsa writes a working key pair with the right modes, and is idempotent', async (t) => {
  const dir = await tempDir(t);
  const env = { FFS_DATA_DIR: dir, FFS_RSA__BITS: '2048' };
  const priv = path.join(dir, 'secrets', 'ticket-rsa.pem');
  const pub = path.join(dir, 'secrets', 'ticket-rsa.pub.pem');

  const first = await runMain(genRsa, [], env, dir);
  t.is(first.code, 0, first.stderr);
  t.is(await modeOf(priv), 0o600);
  t.is(await modeOf(pub), 0o644);
  t.is(await modeOf(path.dirname(priv)), 0o700);
  const privPem = await readFile(priv, 'utf8');
  const pubPem = await readFile(pub, 'utf8');
  t.true(privPem.startsWith('-----BEGIN PRIVATE KEY-----'), 'PKCS#8');
  t.true(pubPem.startsWith('-----BEGIN PUBLIC KEY-----'), 'SPKI');
  const privateKey = createPrivateKey(privPem);
  t.is(privateKey.asymmetricKeyDetails?.modulusLength, 2048);
  const signature = createSign('sha256').update('ticket').sign(privateKey);
  t.true(createVerify('sha256').update('ticket').verify(createPublicKey(pubPem), signature));
  t.true(first.stdout.includes(priv) && first.stdout.includes(pub));
  t.false(first.stdout.includes('PRIVATE KEY'));
  t.false(first.stdout.includes(privPem.split('\n')[1]!));

  const again = await runMain(genRsa, [], env, dir);
  t.is(again.code, 0, again.stderr);
  t.regex(again.stdout, /exists/);
  t.is(await readFile(priv, 'utf8'), privPem);

  // A lost public key is rebuilt from the private one.
  await rm(pub);
  const rebuilt = await runMain(genRsa, [], env, dir);
  t.is(rebuilt.code, 0, rebuilt.stderr);
  t.is(await readFile(pub, 'utf8'), pubPem);
  t.is(await modeOf(pub), 0o644);

  const forced = await runMain(genRsa, ['--force'], env, dir);
  t.is(forced.code, 0, forced.stderr);
  t.not(await readFile(priv, 'utf8'), privPem);
  t.is(await modeOf(priv), 0o600);
});

test('gen-rsa refuses a private key others can read, an orphan public key, and bad flags', async (t) => {
  const dir = await tempDir(t);
  const env = { FFS_DATA_DIR: dir, FFS_RSA__BITS: '2048' };
  const priv = path.join(dir, 'secrets', 'ticket-rsa.pem');
  const pub = path.join(dir, 'secrets', 'ticket-rsa.pub.pem');
  t.is((await runMain(genRsa, [], env, dir)).code, 0);
  await chmod(priv, 0o644);
  const loose = await runMain(genRsa, [], env, dir);
  t.is(loose.code, 1);
  t.true(loose.stderr.includes(`chmod 600 ${priv}`));
  await rm(priv);
  const orphan = await runMain(genRsa, [], env, dir);
  t.is(orphan.code, 1);
  t.true(orphan.stderr.includes(pub));
  for (const argv of [['--bits', '1024'], ['--nope'], ['x']]) {
    const r = await runMain(genRsa, argv, env, dir);
    t.is(r.code, 2, argv.join(' '));
    t.regex(r.stderr, /usage: gen-rsa/);
  }
});

test('the scripts run as programs and do nothing when imported', async (t) => {
  const dir = await tempDir(t);
  await mkdir(path.join(dir, 'cwd'));
  const env = { PATH: process.env.PATH ?? '', FFS_DATA_DIR: path.join(dir, 'data'), FFS_COMMLINK__KEY_COUNT: '4', FFS_RSA__BITS: '2048' };
  const keybag = await run(process.execPath, [path.join(root, 'dist/scripts/gen-keybag.js')], { env, cwd: path.join(dir, 'cwd') });
  for (const name of ['keybag-file-host', 'keybag-internal-db']) {
    const file = path.join(dir, 'data', 'secrets', name);
    const text = await readFile(file, 'utf8');
    t.is(parseKeyBag(text).length, 4);
    t.is(await modeOf(file), 0o600);
    for (const line of keyLines(text)) t.false(keybag.stdout.includes(line));
  }
  t.is(keybag.stdout.trim().split('\n').length, 2);

  const rsa = await run(process.execPath, [path.join(root, 'dist/scripts/gen-rsa.js')], { env, cwd: path.join(dir, 'cwd') });
  t.false(rsa.stdout.includes('PRIVATE'));
  t.is(await modeOf(path.join(dir, 'data', 'secrets', 'ticket-rsa.pem')), 0o600);

  const usage = await t.throwsAsync(run(process.execPath, [path.join(root, 'dist/scripts/gen-keybag.js'), '--bad'], { env }));
  t.is((usage as unknown as { code: number }).code, 2);

  // Importing a script must not run it (this test file imports both; nothing was written to cwd).
  t.deepEqual(await readdir(path.join(dir, 'cwd')), []);
});
