import ssh2 from 'ssh2';

/**
 * A new Ed25519 key pair in OpenSSH format. ssh2's generator now and then writes a private key its
 * own parser refuses ("Malformed OpenSSH private key"); such a pair is dropped and made again.
 */
export function generateEd25519(comment?: string): { private: string; public: string } {
  for (let attempt = 0; attempt < 10; attempt++) {
    const pair = comment === undefined ? ssh2.utils.generateKeyPairSync('ed25519') : ssh2.utils.generateKeyPairSync('ed25519', { comment });
    const parsed = ssh2.utils.parseKey(pair.private);
    if (!(parsed instanceof Error)) return pair;
  }
  throw new Error('could not generate a well-formed Ed25519 key pair');
}
