import { open } from 'node:fs/promises';
import { checkSecretMode } from '../../lib/commlink/keybag-file.js';

/**
 * The portal's session key file (services.web.sessionKeyPath): this first line, then one key per
 * line (base64, at least 32 bytes), newest first; the first signs session cookies, all verify.
 * scripts/gen-session-key writes it.
 */
export const SESSION_KEY_MAGIC = 'FFS-SESSION-KEYS/1';

/** Reads the session keys, newest first, refusing a file that group or others can read. */
export async function readSessionKeys(file: string): Promise<string[]> {
  const handle = await open(file, 'r');
  try {
    checkSecretMode(file, (await handle.stat()).mode);
    const lines = (await handle.readFile('utf8'))
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => l !== '');
    if (lines[0] !== SESSION_KEY_MAGIC) throw new Error(`${file}: not a session key file (first line must be ${SESSION_KEY_MAGIC})`);
    const keys = lines.slice(1);
    if (keys.length === 0 || keys.some((k) => Buffer.from(k, 'base64').length < 32)) throw new Error(`${file}: each key must be at least 32 bytes of base64`);
    return keys;
  } finally {
    await handle.close();
  }
}
