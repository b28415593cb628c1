import { checkSigningKey, type TicketSigning } from './signer.js';
import { encodePayload, type TicketClaims } from './ticket.js';

/** What PooledTicketSigner needs from the pool (lib/crypto-pool's CryptoPool). */
export interface TicketSigningPool {
  /** Registers a private key once; tasks then name it by the returned id. */
  addSigningKey(privateKeyPem: string): string;
  /** The ticket's signature part for its signed part (`v1.<payload>`), made in a worker. */
  signTicket(keyId: string, signed: string): Promise<string>;
}

/**
 * Signs download tickets in the crypto pool's worker threads: the same tickets as TicketSigner
 * (same payload, same PSS/SHA-256 signature over it), so TicketVerifier accepts either. The
 * private key goes to each worker once, not with every ticket.
 */
export class PooledTicketSigner implements TicketSigning {
  readonly #pool: TicketSigningPool;
  readonly #keyId: string;

  constructor(pool: TicketSigningPool, privateKeyPem: string) {
    checkSigningKey(privateKeyPem, 'PooledTicketSigner'); // a bad key fails here, not at the first ticket
    this.#pool = pool;
    this.#keyId = pool.addSigningKey(privateKeyPem);
  }

  /** A ticket for `claims`; rejects when the pool is closed (ERR_CRYPTO_POOL_CLOSED). */
  async sign(claims: TicketClaims): Promise<string> {
    const signed = encodePayload(claims);
    return `${signed}.${await this.#pool.signTicket(this.#keyId, signed)}`;
  }
}
