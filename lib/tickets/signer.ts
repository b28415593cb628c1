import NodeRSA from 'node-rsa';
import { encodePayload, type TicketClaims } from './ticket.js';

/** The signature scheme both ends use. */
export const TICKET_SCHEME = 'pss-sha256';

/** Signs download tickets with the web host's RSA private key (PKCS#8 PEM). */
export class TicketSigner {
  readonly #key: NodeRSA;

  constructor(privateKeyPem: string) {
    this.#key = new NodeRSA(privateKeyPem, 'pkcs8-private-pem', { signingScheme: TICKET_SCHEME });
    if (!this.#key.isPrivate()) throw new TypeError('TicketSigner needs an RSA private key');
  }

  /** A ticket for `claims`; its path must already be normalised (see the path resolver). */
  sign(claims: TicketClaims): string {
    const signed = encodePayload(claims);
    return `${signed}.${Buffer.from(this.#key.sign(Buffer.from(signed))).toString('base64url')}`;
  }
}
