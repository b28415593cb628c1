import { defineError } from './define.js';

/**
 * The codes several services answer with. Each service's catalogue includes the ones it raises;
 * the code is defined here only, so every edge translates it the same way.
 */
export const CommonErrors = {
  INVALID_INPUT: defineError('ERR_INVALID_INPUT', 'A request field is missing, of the wrong type, out of range, or unknown (the field is named).'),
  NOT_FOUND: defineError('ERR_NOT_FOUND', 'The named thing (vendor, product, release, customer, entitlement, EULA, file, object, inbox entry) does not exist.'),
  CONFLICT: defineError('ERR_CONFLICT', 'The thing to create exists already, or the name is held by another live connection.'),
  AUTH_REFUSED: defineError('ERR_AUTH_REFUSED', 'The login, password, key or token is not accepted (which part is not said).'),
  GATEWAY_UNAVAILABLE: defineError(
    'ERR_GATEWAY_UNAVAILABLE',
    'A service on the way (the web host, the internal-db, a file host) cannot be reached now; try again.',
  ),
  INTERNAL: defineError('ERR_INTERNAL', 'Something failed inside the server; it is logged whole (with the request id where there is one).'),
  CONFIG: defineError('ERR_CONFIG', 'A setting or option has an invalid value (the message names it).'),
} as const;
