export { TicketSigner, TICKET_SCHEME, loadSigningKey, checkSigningKey, signatureFor, type TicketSigning } from './signer.js';
export { PooledTicketSigner, type TicketSigningPool } from './pooled-signer.js';
export { TicketVerifier, type TicketVerdict, type TicketVerifierOptions } from './verifier.js';
export { TICKET_VERSION, type TicketClaims } from './ticket.js';
