import { createHash } from 'node:crypto';
import { InternalDbErrors } from '../../lib/contracts/internal-db/errors.js';

export const SSH_KEY_ALGORITHMS = ['ssh-ed25519', 'ecdsa-sha2-nistp256', 'ecdsa-sha2-nistp384', 'ecdsa-sha2-nistp521', 'ssh-rsa'] as const;

export interface SshPublicKey {
  algorithm: string;
  /** The key blob, base64 as in authorized_keys. */
  keyB64: string;
  /** OpenSSH's SHA256 fingerprint: "SHA256:" + unpadded base64 of SHA-256(blob). */
  fingerprint: string;
  comment: string;
}

/** Parses one authorized_keys-style line: `<algorithm> <base64 blob> [comment]`. */
export function parseSshPublicKey(line: string): SshPublicKey {
  const parts = line.trim().split(/\s+/);
  const [algorithm, keyB64] = parts;
  const comment = parts.slice(2).join(' ');
  if (!algorithm || !keyB64 || !(SSH_KEY_ALGORITHMS as readonly string[]).includes(algorithm)) {
    throw InternalDbErrors.INVALID_INPUT(`publicKey: expected "<algorithm> <base64> [comment]" with algorithm one of ${SSH_KEY_ALGORITHMS.join(', ')}`, {
      field: 'publicKey',
    });
  }
  const blob = Buffer.from(keyB64, 'base64');
  if (blob.toString('base64') !== keyB64 || blob.length < 8)
    throw InternalDbErrors.INVALID_INPUT('publicKey: the key is not valid base64', { field: 'publicKey' });
  const nameLength = blob.readUInt32BE(0);
  if (4 + nameLength > blob.length || blob.subarray(4, 4 + nameLength).toString('latin1') !== algorithm) {
    throw InternalDbErrors.INVALID_INPUT('publicKey: the key blob does not match its algorithm', { field: 'publicKey' });
  }
  return { algorithm, keyB64, fingerprint: fingerprintOf(blob), comment };
}

export function fingerprintOf(blob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(blob).digest('base64').replace(/=+$/, '');
}
