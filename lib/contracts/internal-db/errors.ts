import { CommonErrors, defineError } from '../../errors/index.js';

/**
 * The internal-db's error catalogue: what its operations answer with. The codes cross the
 * commlink as they are (typed `ffs.error`), and the protocol edges of the other services translate
 * them.
 */
export const InternalDbErrors = {
  INVALID_INPUT: CommonErrors.INVALID_INPUT,
  NOT_FOUND: CommonErrors.NOT_FOUND,
  CONFLICT: CommonErrors.CONFLICT,
  AUTH_REFUSED: CommonErrors.AUTH_REFUSED,
  STATE: defineError('ERR_STATE', 'The operation is not allowed in the current state (e.g. publishing a release without artifacts).'),
  BACKUP_FAILED: defineError('ERR_BACKUP_FAILED', 'An online backup could not be written.'),
} as const;
