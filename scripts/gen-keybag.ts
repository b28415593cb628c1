import path from 'node:path';
import { bagId, generateKeys, MAX_KEYS, readKeyBagFile, writeKeyBagFile } from '../lib/commlink/keybag-file.js';
import { loadConfig } from '../lib/config/index.js';
import { errorText, exists, parseFlags, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';

/**
 * Writes the commlink key bag: commlink.keyCount random keys to commlink.keyBagPath (mode 0600, in a
 * 0700 directory). Idempotent: an existing bag is checked and kept unless --force. Prints the path,
 * the count and the bag id, never a key.
 */

export const USAGE = `usage: gen-keybag [--count N] [--out PATH] [--force]
  --count N    number of keys, 1..${MAX_KEYS} (default: commlink.keyCount, FFS_COMMLINK__KEY_COUNT)
  --out PATH   where to write the bag (default: commlink.keyBagPath, FFS_COMMLINK__KEY_BAG_PATH)
  --force      replace an existing bag (every service must then get the new one)`;

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  const { env, cwd, out, err } = resolved;
  const parsed = parseFlags('gen-keybag', argv, { count: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } }, USAGE, resolved);
  if (parsed === undefined) return 2;
  if (parsed === 'help') return 0;
  const flags = parsed as { count?: string; out?: string; force?: boolean };
  let count: number | undefined;
  if (flags.count !== undefined) {
    count = /^[0-9]+$/.test(flags.count) ? Number(flags.count) : NaN;
    if (!Number.isInteger(count) || count < 1 || count > MAX_KEYS) {
      err(`gen-keybag: --count must be an integer from 1 to ${MAX_KEYS} (got ${JSON.stringify(flags.count)})`);
      err(USAGE);
      return 2;
    }
  }
  if (flags.out === '') {
    err('gen-keybag: --out needs a path');
    err(USAGE);
    return 2;
  }

  try {
    const config = loadConfig({ env, cwd });
    const file = flags.out !== undefined ? path.resolve(cwd, flags.out) : config.commlink.keyBagPath;
    const n = count ?? config.commlink.keyCount;
    const force = flags.force ?? false;

    const reportExisting = async () => {
      const keys = await readKeyBagFile(file);
      out(`key bag exists: ${file} (n=${keys.length}, id=${bagId(keys)}); kept (--force replaces it)`);
      return 0;
    };
    if (!force && (await exists(file))) return await reportExisting();

    const keys = generateKeys(n);
    try {
      await writeKeyBagFile(file, keys, { overwrite: force });
    } catch (e) {
      // Another process wrote the bag since we looked: that bag is the one to keep.
      if (!force && (e as NodeJS.ErrnoException).code === 'EEXIST') return await reportExisting();
      throw e;
    }
    out(`key bag written: ${file} (n=${keys.length}, id=${bagId(keys)})`);
    return 0;
  } catch (e) {
    err(`gen-keybag: ${errorText(e)}`);
    return 1;
  }
}

runIfEntryPoint(import.meta.url, main);
