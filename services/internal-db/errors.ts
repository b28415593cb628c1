import { defineError } from '../../lib/commlink/errors.js';

/**
 * The internal-db's error catalogue. These cross the commlink as they are (typed `ffs.error`),
 * and the protocol edges of the other services translate them.
 */
export const DbErrors = {
  INVALID_INPUT: defineError('ERR_INVALID_INPUT', 'A request field is missing, of the wrong type, out of range, or unknown.'),
  NOT_FOUND: defineError('ERR_NOT_FOUND', 'The named vendor, product, release, customer, entitlement or EULA does not exist.'),
  CONFLICT: defineError('ERR_CONFLICT', 'The thing to create exists already, or the change conflicts with existing data.'),
  STATE: defineError('ERR_STATE', 'The operation is not allowed in the current state (e.g. publishing a release without artifacts).'),
  AUTH_REFUSED: defineError('ERR_AUTH_REFUSED', 'The login, password, key or token is not accepted (which part is not said).'),
  BACKUP_FAILED: defineError('ERR_BACKUP_FAILED', 'An online backup could not be written.'),
} as const;
