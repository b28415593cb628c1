import { createHash, randomBytes } from 'node:crypto';
import { constants as fsConstants } from 'node:fs';
import { link, mkdir, open, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { Errors } from './errors.js';
import { KEY_LENGTH, KeyBag } from './keybag.js';
import { CodedError } from '../errors/index.js';

/**
 * The key bag file (wire-compat spec: both ends of a commlink must read the same bytes the same way):
 *
 *   FFS-KEYBAG/1 n=<N>\n
 *   <key 0: standard base64, with padding, of exactly 32 bytes>\n
 *   ... N key lines in all, each ended by \n; nothing after the last.
 *
 * N is decimal without leading zeros, 1..65536. Parsing is strict: a file that is not exactly what
 * formatKeyBag would write for its keys is rejected, with the line number. Messages never quote a
 * key line.
 */

export const KEYBAG_MAGIC = 'FFS-KEYBAG/1';
export const MAX_KEYS = 65536;

const HEADER = /^FFS-KEYBAG\/1 n=([1-9][0-9]*)$/;

function checkKeys(keys: readonly Buffer[]): void {
  if (keys.length < 1 || keys.length > MAX_KEYS)
    throw Errors.KEYBAG_FORMAT(`a key bag holds 1 to ${MAX_KEYS} keys, not ${keys.length}`, { count: keys.length });
  keys.forEach((key, i) => {
    if (!Buffer.isBuffer(key) || key.length !== KEY_LENGTH) {
      throw Errors.KEYBAG_FORMAT(`key ${i} is ${Buffer.isBuffer(key) ? key.length : typeof key} bytes, not ${KEY_LENGTH}`, { key: i });
    }
  });
}

export function formatKeyBag(keys: readonly Buffer[]): string {
  checkKeys(keys);
  return `${KEYBAG_MAGIC} n=${keys.length}\n` + keys.map((k) => `${k.toString('base64')}\n`).join('');
}

export function parseKeyBag(text: string): Buffer[] {
  const bad = (line: number, what: string) => Errors.KEYBAG_FORMAT(`key bag line ${line}: ${what}`, { line });
  if (text.length === 0) throw bad(1, 'missing header (empty file)');
  if (!text.endsWith('\n')) {
    const lines = text.split('\n').length;
    throw bad(lines, 'missing final newline');
  }
  const lines = text.slice(0, -1).split('\n');
  const header = lines[0]!;
  const match = HEADER.exec(header);
  if (!match) throw bad(1, `header must be "${KEYBAG_MAGIC} n=<N>" (N in 1..${MAX_KEYS}, no leading zeros)`);
  const n = Number(match[1]);
  if (n > MAX_KEYS) throw bad(1, `header declares ${n} keys, more than ${MAX_KEYS}`);
  const keys: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const lineNo = i + 2;
    const line = lines[i + 1];
    if (line === undefined) throw bad(lineNo, `expected key ${i} of ${n}, found end of file`);
    if (line.length === 0) throw bad(lineNo, `expected key ${i} of ${n}, found an empty line`);
    const key = Buffer.from(line, 'base64');
    if (key.length !== KEY_LENGTH || key.toString('base64') !== line) {
      throw bad(lineNo, `key ${i} is not the padded standard base64 of exactly ${KEY_LENGTH} bytes`);
    }
    keys.push(key);
  }
  if (lines.length > n + 1) throw bad(n + 2, `unexpected content after the last of ${n} keys`);
  return keys;
}

export function generateKeys(n: number): Buffer[] {
  if (!Number.isInteger(n) || n < 1 || n > MAX_KEYS) throw Errors.KEYBAG_FORMAT(`a key bag holds 1 to ${MAX_KEYS} keys, not ${n}`, { count: n });
  return Array.from({ length: n }, () => randomBytes(KEY_LENGTH));
}

/** First 16 hex digits of SHA-256 over the raw keys concatenated in order (same as KeyBag.idHex). */
export function bagId(keys: readonly Buffer[]): string {
  const hash = createHash('sha256');
  for (const key of keys) hash.update(key);
  return hash.digest('hex').slice(0, 16);
}

export interface WriteFileAtomicOptions {
  /** File mode (applied with chmod, so the umask cannot widen or narrow it). */
  mode: number;
  /** Replace an existing file. Default false: an existing file is an EEXIST error. */
  overwrite?: boolean;
  /** Mode of parent directories that have to be created. Default 0o700. */
  dirMode?: number;
}

/** An EEXIST error naming the file, as fs would raise it. */
function existsError(file: string, cause?: unknown): NodeJS.ErrnoException {
  const err: NodeJS.ErrnoException = new Error(`${file} already exists (refusing to overwrite it)`, cause === undefined ? undefined : { cause });
  err.code = 'EEXIST';
  err.path = file;
  return err;
}

/**
 * Writes a file so that readers see either nothing (or the old file) or the whole new file:
 * a temp file in the same directory (flag 'wx', the final mode from the start), write, fsync,
 * then link (no overwrite: fails if the target exists) or rename (overwrite) onto the target.
 * Used for the secrets files (key bag, RSA keys).
 */
export async function writeFileAtomic(file: string, data: string | Buffer, options: WriteFileAtomicOptions): Promise<void> {
  const { mode, overwrite = false, dirMode = 0o700 } = options;
  const dir = path.dirname(path.resolve(file));
  await mkdir(dir, { recursive: true, mode: dirMode });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await open(temp, 'wx', mode);
  let placed = false;
  try {
    try {
      await handle.chmod(mode);
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (overwrite) {
      await rename(temp, file);
      placed = true;
    } else {
      try {
        await link(temp, file);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw existsError(file, err);
        throw err;
      }
    }
  } finally {
    if (!placed) await unlink(temp).catch(() => undefined);
  }
  await syncDir(dir);
}

/** Makes the new directory entry durable; not every platform can fsync a directory. */
async function syncDir(dir: string): Promise<void> {
  let handle;
  try {
    handle = await open(dir, fsConstants.O_RDONLY);
    await handle.sync();
  } catch {
    // EISDIR / EPERM / EINVAL on some platforms: the data itself is already synced.
  } finally {
    await handle?.close();
  }
}

export interface WriteKeyBagOptions {
  /** Replace an existing bag. Default false: an existing bag is an EEXIST error. */
  overwrite?: boolean;
}

/** Writes a bag: parent directories 0700, the file 0600, atomically. */
export async function writeKeyBagFile(file: string, keys: readonly Buffer[], options: WriteKeyBagOptions = {}): Promise<void> {
  await writeFileAtomic(file, formatKeyBag(keys), { mode: 0o600, overwrite: options.overwrite ?? false, dirMode: 0o700 });
}

/** Throws KEYBAG_PERMISSIONS when a secret file's mode lets group or others in. */
export function checkSecretMode(file: string, mode: number): void {
  if (process.platform === 'win32') return;
  if ((mode & 0o077) !== 0) {
    const octal = (mode & 0o777).toString(8).padStart(4, '0');
    throw Errors.KEYBAG_PERMISSIONS(`${file} has mode ${octal}: group or others can access it; run: chmod 600 ${file}`, { path: file, mode: octal });
  }
}

/** Reads and parses a bag; refuses a file that group or others can access. */
export async function readKeyBagFile(file: string): Promise<Buffer[]> {
  const handle = await open(file, 'r');
  let text: string;
  try {
    const stat = await handle.stat();
    if (!stat.isFile()) throw Errors.KEYBAG_FORMAT(`${file} is not a regular file`, { path: file });
    checkSecretMode(file, stat.mode);
    text = await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
  try {
    return parseKeyBag(text);
  } catch (err) {
    if (err instanceof CodedError) throw Errors.KEYBAG_FORMAT(`${file}: ${err.message}`, { ...err.details, path: file }, err);
    throw err;
  }
}

/** The file name of the one key bag FFS/1 shared between all three services (in the secrets directory). */
export const FFS1_BAG_NAME = 'keybag';

/**
 * The key bag of one link, as a service reads it at start: `setting` names the configuration field
 * (e.g. commlink.fileHostBagPath) so that a missing bag says which one and what makes it. A data
 * directory of FFS/1 (one bag, `secrets/keybag`, shared by all) is named as such: its bag is no
 * longer read, since every link has its own bag.
 */
export async function loadKeyBag(file: string, setting: string): Promise<KeyBag> {
  try {
    return new KeyBag(await readKeyBagFile(file));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
    const legacy = path.join(path.dirname(file), FFS1_BAG_NAME);
    const hasLegacy = await open(legacy, 'r').then(
      (h) => h.close().then(() => true),
      () => false,
    );
    throw Errors.CONFIG(
      `${setting}: no key bag at ${file}. Each commlink link has its own key bag: make them with \`npm run keys\` ` +
        '(node dist/scripts/gen-keybag.js) and give each host only the bags of its links (README, scripts/TOPOLOGY.md)' +
        (hasLegacy ? `; ${legacy} is the single bag of an earlier version, no longer read (delete it once the new bags are in place)` : ''),
      { field: setting, path: file },
    );
  }
}
