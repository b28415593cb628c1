import { createHash, createPrivateKey, createPublicKey, generateKeyPair, type KeyObject } from 'node:crypto';
import { open } from 'node:fs/promises';
import { promisify } from 'node:util';
import { checkSecretMode, writeFileAtomic } from '../lib/commlink/keybag-file.js';
import { loadConfig, RSA_BITS } from '../lib/config/index.js';
import { errorText, exists, parseFlags, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';

/**
 * Writes the ticket-signing RSA key pair: the private key as PKCS#8 PEM (mode 0600) at
 * rsa.privateKeyPath, the public key as SPKI PEM (mode 0644) at rsa.publicKeyPath, modulus
 * rsa.bits. Idempotent: an existing pair is checked and kept unless --force; a missing public key
 * is rebuilt from the private one. Prints paths, size and key id, never the private key.
 */

export const USAGE = `usage: gen-rsa [--bits ${RSA_BITS.join('|')}] [--force]
  --bits N   modulus size (default: rsa.bits, FFS_RSA__BITS)
  --force    replace an existing key pair (tickets signed with the old key stop verifying)`;

const generateKeyPairAsync = promisify(generateKeyPair);

/** First 16 hex digits of SHA-256 over the public key's DER (SPKI): names the pair, reveals nothing. */
export function publicKeyId(key: KeyObject): string {
  return createHash('sha256')
    .update(key.export({ type: 'spki', format: 'der' }))
    .digest('hex')
    .slice(0, 16);
}

/** Reads the private key, refusing one that group or others can access. */
async function readPrivateKey(file: string): Promise<KeyObject> {
  const handle = await open(file, 'r');
  try {
    checkSecretMode(file, (await handle.stat()).mode);
    return createPrivateKey(await handle.readFile('utf8'));
  } finally {
    await handle.close();
  }
}

function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string;
}

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  const { env, cwd, out, err } = resolved;
  const parsed = parseFlags('gen-rsa', argv, { bits: { type: 'string' }, force: { type: 'boolean' } }, USAGE, resolved);
  if (parsed === undefined) return 2;
  if (parsed === 'help') return 0;
  const flags = parsed as { bits?: string; force?: boolean };
  let bits: number | undefined;
  if (flags.bits !== undefined) {
    bits = RSA_BITS.find((b) => String(b) === flags.bits);
    if (bits === undefined) {
      err(`gen-rsa: --bits must be one of ${RSA_BITS.join(', ')} (got ${JSON.stringify(flags.bits)})`);
      err(USAGE);
      return 2;
    }
  }

  try {
    const config = loadConfig({ env, cwd });
    const { privateKeyPath, publicKeyPath } = config.rsa;
    const force = flags.force ?? false;

    if (!force) {
      const [hasPrivate, hasPublic] = await Promise.all([exists(privateKeyPath), exists(publicKeyPath)]);
      if (hasPrivate) {
        const privateKey = await readPrivateKey(privateKeyPath);
        const publicKey = createPublicKey(privateKey);
        const id = publicKeyId(publicKey);
        const size = privateKey.asymmetricKeyDetails?.modulusLength;
        if (hasPublic) {
          const existing = createPublicKey(await readTextFile(publicKeyPath));
          if (publicKeyId(existing) !== id) {
            err(`gen-rsa: ${publicKeyPath} is not the public half of ${privateKeyPath}; --force replaces both`);
            return 1;
          }
          out(`RSA key pair exists: ${privateKeyPath}, ${publicKeyPath} (bits=${size}, id=${id}); kept (--force replaces it)`);
          return 0;
        }
        await writeFileAtomic(publicKeyPath, spkiPem(publicKey), { mode: 0o644, overwrite: false, dirMode: 0o755 });
        out(`RSA public key rebuilt from the existing private key: ${publicKeyPath} (bits=${size}, id=${id})`);
        return 0;
      }
      if (hasPublic) {
        err(`gen-rsa: ${publicKeyPath} exists but its private key ${privateKeyPath} does not; --force replaces the pair`);
        return 1;
      }
    }

    const modulusLength = bits ?? config.rsa.bits;
    const pair = await generateKeyPairAsync('rsa', {
      modulusLength,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
    });
    // Private first: a crash in between leaves a private key, from which a rerun rebuilds the public one.
    await writeFileAtomic(privateKeyPath, pair.privateKey, { mode: 0o600, overwrite: force, dirMode: 0o700 });
    await writeFileAtomic(publicKeyPath, pair.publicKey, { mode: 0o644, overwrite: force, dirMode: 0o755 });
    out(`RSA key pair written: ${privateKeyPath}, ${publicKeyPath} (bits=${modulusLength}, id=${publicKeyId(createPublicKey(pair.publicKey))})`);
    return 0;
  } catch (e) {
    err(`gen-rsa: ${errorText(e)}`);
    return 1;
  }
}

async function readTextFile(file: string): Promise<string> {
  const handle = await open(file, 'r');
  try {
    return await handle.readFile('utf8');
  } finally {
    await handle.close();
  }
}

runIfEntryPoint(import.meta.url, main);
