import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../lib/commlink/keybag-file.js';
import { loadConfig } from '../lib/config/index.js';
import { readSessionKeys, SESSION_KEY_MAGIC } from '../services/web/session-keys.js';
import { errorText, exists, parseFlags, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';

/**
 * Writes the web host's session keys when missing: random keys, one per line (base64), that sign the
 * portal's session cookies. Several web hosts share the file. A new key can be put first and the old
 * ones kept below it (cookies signed with them still verify until they expire). Mode 0600, in a
 * 0700 directory; prints the path, never a key.
 */
export const USAGE = `usage: gen-session-key [--force]
  --force   replace the keys (every portal session ends)`;

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  const { env, cwd, out, err } = resolved;
  const parsed = parseFlags('gen-session-key', argv, { force: { type: 'boolean' } }, USAGE, resolved);
  if (parsed === undefined) return 2;
  if (parsed === 'help') return 0;
  const force = (parsed as { force?: boolean }).force ?? false;
  try {
    const file = loadConfig({ env, cwd }).services.web.sessionKeyPath;
    if (!force && (await exists(file))) {
      const keys = await readSessionKeys(file);
      out(`session keys exist: ${file} (${keys.length}); kept (--force replaces them)`);
      return 0;
    }
    await writeFileAtomic(file, `${SESSION_KEY_MAGIC}\n${randomBytes(32).toString('base64')}\n`, { mode: 0o600, overwrite: force, dirMode: 0o700 });
    out(`session keys written: ${file}`);
    return 0;
  } catch (e) {
    err(`gen-session-key: ${errorText(e)}`);
    return 1;
  }
}

runIfEntryPoint(import.meta.url, main);
