import { defineError } from '../../lib/commlink/index.js';

/**
 * The file host's error catalogue. These cross the commlink typed (the web host sees the code);
 * the HTTP, FTP and SFTP edges translate them (http/status.ts; FTP and SFTP next).
 */
export const FileHostErrors = {
  INVALID_INPUT: defineError('ERR_INVALID_INPUT', 'A request field is missing, of the wrong type, out of range, or unknown.'),
  PATH_REFUSED: defineError('ERR_PATH_REFUSED', 'A client path is malformed or would leave the customer area (.., encodings, NUL, symlinks).'),
  NOT_FOUND: defineError('ERR_NOT_FOUND', 'The file, object or inbox entry does not exist.'),
  OBJECT_MISMATCH: defineError('ERR_OBJECT_MISMATCH', 'Ingested bytes do not match the expected size or SHA-256; nothing was stored.'),
  STAGING_FAILED: defineError('ERR_STAGING_FAILED', 'A file could not be staged (after every fallback).'),
  CROSS_DEVICE: defineError('ERR_CROSS_DEVICE', 'The repository and the areas are on different filesystems, so hard links cannot join them.'),
  TICKET_INVALID: defineError('ERR_TICKET_INVALID', 'A download ticket is missing, malformed, forged, expired, or for another file.'),
  AUTH_REFUSED: defineError('ERR_AUTH_REFUSED', 'The login, password or key is not accepted (which part is not said).'),
  BANNED: defineError('ERR_BANNED', 'The client address is banned for a while after repeated failed logins.'),
  TOO_MANY_SESSIONS: defineError('ERR_TOO_MANY_SESSIONS', 'The customer or the client address has as many sessions open as allowed.'),
  READ_ONLY: defineError('ERR_READ_ONLY', 'Customer areas are read-only: uploads, deletions, renames and changes are refused.'),
  GATEWAY_UNAVAILABLE: defineError('ERR_GATEWAY_UNAVAILABLE', 'The web host (and through it the internal-db) cannot be reached now; try again.'),
} as const;
