import NodeRSA from 'node-rsa';
import { encodePayload, type TicketClaims } from './ticket.js';

/** The signature scheme both ends use. */
export const TICKET_SCHEME = 'pss-sha256';

/**
 * What signs download tickets: TicketSigner in this thread, PooledTicketSigner in the crypto pool.
 * The web host takes either.
 */
export interface TicketSigning {
  /** A ticket for `claims`; its path must already be normalised (see the path resolver). */
  sign(claims: TicketClaims): string | Promise<string>;
}

/** The signing key from a PKCS#8 PEM; a TypeError when it is not an RSA private key. */
export function loadSigningKey(privateKeyPem: string, who = 'TicketSigner'): NodeRSA {
  const key = new NodeRSA(privateKeyPem, 'pkcs8-private-pem', { signingScheme: TICKET_SCHEME });
  if (!key.isPrivate()) throw new TypeError(`${who} needs an RSA private key`);
  return key;
}

/** Throws a TypeError unless `privateKeyPem` is an RSA private key (PKCS#8 PEM). */
export function checkSigningKey(privateKeyPem: string, who: string): void {
  try {
    loadSigningKey(privateKeyPem, who);
  } catch (err) {
    if (err instanceof TypeError) throw err;
    throw new TypeError(`${who} needs an RSA private key as PKCS#8 PEM: ${(err as Error)?.message ?? err}`, { cause: err });
  }
}

/** The signature part of a ticket: base64url of the signature over the signed part's bytes. */
export function signatureFor(key: NodeRSA, signed: string): string {
  return Buffer.from(key.sign(Buffer.from(signed))).toString('base64url');
}

/** Signs download tickets with the web host's RSA private key (PKCS#8 PEM), in this thread. */
export class TicketSigner implements TicketSigning {
  readonly #key: NodeRSA;

  constructor(privateKeyPem: string) {
    this.#key = loadSigningKey(privateKeyPem);
  }

  /** A ticket for `claims`; its path must already be normalised (see the path resolver). */
  sign(claims: TicketClaims): string {
    const signed = encodePayload(claims);
    return `${signed}.${signatureFor(this.#key, signed)}`;
  }
}
