import { createHash, randomBytes } from 'node:crypto';

/** API tokens: 32 random bytes, shown once as `ffs_<base64url>`; only their SHA-256 is stored
 *  (their entropy makes a slow hash unnecessary). */
export function newToken(): string {
  return `ffs_${randomBytes(32).toString('base64url')}`;
}

export function tokenHash(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}
