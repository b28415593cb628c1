export { TicketSigner, TICKET_SCHEME } from './signer.js';
export { TicketVerifier, type TicketVerdict, type TicketVerifierOptions } from './verifier.js';
export { TICKET_VERSION, type TicketClaims } from './ticket.js';
