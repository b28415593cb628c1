import { createHash, randomBytes, randomInt, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/**
 * Password hashes: scrypt (r=8, p=1, N=2^logN), stored as `scrypt$<logN>$<r>$<p>$<salt>$<hash>`
 * (base64), so the cost can rise later without breaking old hashes. scrypt runs on libuv's thread
 * pool, off the event loop.
 */
const KEY_LENGTH = 32;

function scrypt(password: string, salt: Buffer, logN: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** logN;
  const options: ScryptOptions = { N, r, p, maxmem: 256 * N * r + 1024 * 1024 };
  return new Promise((resolve, reject) => scryptCb(password, salt, KEY_LENGTH, options, (err, key) => (err ? reject(err) : resolve(key))));
}

export async function hashPassword(password: string, logN: number): Promise<string> {
  const salt = randomBytes(16);
  const key = await scrypt(password, salt, logN, 8, 1);
  return `scrypt$${logN}$8$1$${salt.toString('base64')}$${key.toString('base64')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [logN, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
  if (!(logN >= 10 && logN <= 22 && r >= 1 && r <= 32 && p >= 1 && p <= 16)) return false;
  const expected = Buffer.from(parts[5] as string, 'base64');
  const key = await scrypt(password, Buffer.from(parts[4] as string, 'base64'), logN, r, p);
  return key.length === expected.length && timingSafeEqual(key, expected);
}

/**
 * The characters of a generated password (one a person reads and types: the demo customer's, the
 * admin CLI's): letters and digits without look-alikes (0 O 1 l I). No `-` (a password that starts
 * with one is taken for an option by `lftp -u`, `curl -u`, `sshpass -p`), no `_`, nothing a shell
 * or a URL treats specially.
 */
export const PASSWORD_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789';

/** A generated password: `length` characters drawn uniformly from PASSWORD_ALPHABET (24 give about 139 bits). */
export function generatePassword(length = 24): string {
  let password = '';
  for (let i = 0; i < length; i++) password += PASSWORD_ALPHABET[randomInt(PASSWORD_ALPHABET.length)];
  return password;
}

/** A hash no password matches, verified against for unknown logins so that timing reveals nothing. */
export async function decoyHash(logN: number): Promise<string> {
  return hashPassword(randomBytes(24).toString('base64'), logN);
}

/**
 * Remembers successful verifications for `ttlMs`, keyed by customer, stored hash and password (a
 * salted digest, never the password), so a client that logs in again and again pays scrypt once.
 * A changed password changes the stored hash and misses the cache; failures are never cached.
 * Entitlements are not cached here: they are read on every check.
 */
export class VerifiedPasswordCache {
  readonly #ttlMs: number;
  readonly #max: number;
  readonly #secret = randomBytes(32);
  readonly #entries = new Map<string, number>();

  constructor(ttlMs: number, max = 10_000) {
    this.#ttlMs = ttlMs;
    this.#max = max;
  }

  #key(customerId: number, storedHash: string, password: string): string {
    return createHash('sha256').update(this.#secret).update(`${customerId}\0${storedHash}\0`).update(password).digest('base64');
  }

  has(customerId: number, storedHash: string, password: string): boolean {
    if (this.#ttlMs === 0) return false;
    const key = this.#key(customerId, storedHash, password);
    const expires = this.#entries.get(key);
    if (expires === undefined) return false;
    if (expires < Date.now()) {
      this.#entries.delete(key);
      return false;
    }
    return true;
  }

  add(customerId: number, storedHash: string, password: string): void {
    if (this.#ttlMs === 0) return;
    if (this.#entries.size >= this.#max) {
      const oldest = this.#entries.keys().next().value as string;
      this.#entries.delete(oldest);
    }
    this.#entries.set(this.#key(customerId, storedHash, password), Date.now() + this.#ttlMs);
  }

  clear(): void {
    this.#entries.clear();
  }
}
