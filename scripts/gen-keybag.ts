import path from 'node:path';
import { bagId, FFS1_BAG_NAME, generateKeys, MAX_KEYS, readKeyBagFile, writeKeyBagFile } from '../lib/commlink/keybag-file.js';
import { loadConfig, type Config } from '../lib/config/index.js';
import { COMMLINK_BAG_FIELDS, type CommlinkLink } from '../lib/config/schema.js';
import { errorText, exists, parseFlags, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';

/**
 * Writes the commlink key bags, one per link (PROTOCOL.md §2): the web host ↔ file host link's to
 * commlink.fileHostBagPath, the web host ↔ internal-db link's to commlink.internalDbBagPath;
 * commlink.keyCount random keys each (mode 0600, in a 0700 directory). The web host holds both; a
 * file host only the first, the internal host only the second (scripts/TOPOLOGY.md places them).
 * Idempotent: an existing bag is checked and kept unless --force. Prints the path, the count and
 * the bag id, never a key.
 */

/** The links by the names the command line uses. */
export const LINKS: Readonly<Record<string, { link: CommlinkLink; label: string }>> = Object.freeze({
  'file-host': { link: 'fileHost', label: 'web host ↔ file host' },
  'internal-db': { link: 'internalDb', label: 'web host ↔ internal-db' },
});

export const USAGE = `usage: gen-keybag [--link file-host|internal-db] [--count N] [--out PATH] [--force]
  writes the key bag of each commlink link that is missing: web host ↔ file host at
  commlink.fileHostBagPath (FFS_COMMLINK__FILE_HOST_BAG_PATH), web host ↔ internal-db at
  commlink.internalDbBagPath (FFS_COMMLINK__INTERNAL_DB_BAG_PATH)
  --link L     only the bag of link L (file-host or internal-db)
  --count N    number of keys, 1..${MAX_KEYS} (default: commlink.keyCount, FFS_COMMLINK__KEY_COUNT)
  --out PATH   where to write the bag (with --link; default: that link's setting)
  --force      replace existing bags (every host of the link must then get the new one)`;

/** The path of a link's bag in the configuration. */
export function bagPath(config: Config, link: CommlinkLink): string {
  return config.commlink[COMMLINK_BAG_FIELDS[link]];
}

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  const { env, cwd, out, err } = resolved;
  const flags = { link: { type: 'string' }, count: { type: 'string' }, out: { type: 'string' }, force: { type: 'boolean' } } as const;
  const parsed = parseFlags('gen-keybag', argv, flags, USAGE, resolved);
  if (parsed === undefined) return 2;
  if (parsed === 'help') return 0;
  const values = parsed as { link?: string; count?: string; out?: string; force?: boolean };
  const usageError = (message: string) => {
    err(`gen-keybag: ${message}`);
    err(USAGE);
    return 2;
  };
  let count: number | undefined;
  if (values.count !== undefined) {
    count = /^[0-9]+$/.test(values.count) ? Number(values.count) : NaN;
    if (!Number.isInteger(count) || count < 1 || count > MAX_KEYS)
      return usageError(`--count must be an integer from 1 to ${MAX_KEYS} (got ${JSON.stringify(values.count)})`);
  }
  if (values.link !== undefined && !Object.hasOwn(LINKS, values.link)) {
    return usageError(`--link must be ${Object.keys(LINKS).join(' or ')} (got ${JSON.stringify(values.link)})`);
  }
  if (values.out === '') return usageError('--out needs a path');
  if (values.out !== undefined && values.link === undefined) return usageError('--out names one bag: give --link too');

  try {
    const config = loadConfig({ env, cwd });
    const n = count ?? config.commlink.keyCount;
    const force = values.force ?? false;
    const chosen = values.link === undefined ? Object.values(LINKS) : [LINKS[values.link]!];
    const written = new Set<string>();
    for (const { link, label } of chosen) {
      const file = values.out !== undefined ? path.resolve(cwd, values.out) : bagPath(config, link);
      written.add(file);
      await writeBag(file, `${label} link`, n, force, out);
    }
    const legacies = new Set([...written].map((file) => path.join(path.dirname(file), FFS1_BAG_NAME)));
    for (const legacy of legacies) {
      if (!written.has(legacy) && (await exists(legacy)))
        out(`note: ${legacy} is the single key bag of an earlier version; no service reads it any more (delete it)`);
    }
    return 0;
  } catch (e) {
    err(`gen-keybag: ${errorText(e)}`);
    return 1;
  }
}

/** Writes one bag unless it exists (kept, and reported) or --force. */
async function writeBag(file: string, what: string, n: number, force: boolean, out: (line: string) => void): Promise<void> {
  const reportExisting = async () => {
    const keys = await readKeyBagFile(file);
    out(`key bag exists: ${file} (${what}, n=${keys.length}, id=${bagId(keys)}); kept (--force replaces it)`);
  };
  if (!force && (await exists(file))) return reportExisting();
  const keys = generateKeys(n);
  try {
    await writeKeyBagFile(file, keys, { overwrite: force });
  } catch (e) {
    // Another process wrote the bag since we looked: that bag is the one to keep.
    if (!force && (e as NodeJS.ErrnoException).code === 'EEXIST') return reportExisting();
    throw e;
  }
  out(`key bag written: ${file} (${what}, n=${keys.length}, id=${bagId(keys)})`);
}

runIfEntryPoint(import.meta.url, main);
