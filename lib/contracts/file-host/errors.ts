import { CommonErrors, defineError } from '../../errors/index.js';

/**
 * The file host's error catalogue. These cross the commlink typed (the web host sees the code);
 * the file host's own edges translate them: HTTP (services/ftp/http/status.ts), FTP
 * (services/ftp/ftp/replies.ts) and SFTP (services/ftp/sftp/status.ts).
 */
export const FileHostErrors = {
  INVALID_INPUT: CommonErrors.INVALID_INPUT,
  NOT_FOUND: CommonErrors.NOT_FOUND,
  AUTH_REFUSED: CommonErrors.AUTH_REFUSED,
  GATEWAY_UNAVAILABLE: CommonErrors.GATEWAY_UNAVAILABLE,
  INTERNAL: CommonErrors.INTERNAL,
  PATH_REFUSED: defineError('ERR_PATH_REFUSED', 'A client path is malformed or would leave the customer area (.., encodings, NUL, symlinks).'),
  OBJECT_MISMATCH: defineError('ERR_OBJECT_MISMATCH', 'Ingested bytes do not match the expected size or SHA-256; nothing was stored.'),
  STAGING_FAILED: defineError('ERR_STAGING_FAILED', 'A file could not be staged (after every fallback).'),
  CROSS_DEVICE: defineError('ERR_CROSS_DEVICE', 'The repository and the areas are on different filesystems, so hard links cannot join them.'),
  TICKET_INVALID: defineError('ERR_TICKET_INVALID', 'A download ticket is missing, malformed, forged, expired, or for another file.'),
  TICKET_SUPERSEDED: defineError(
    'ERR_TICKET_SUPERSEDED',
    'A download ticket was issued before a change that affects it (its customer disabled, an entitlement revoked or expired, the release ' +
      'yanked, a EULA set): ask for a new download link.',
  ),
  RELEASE_WITHDRAWN: defineError(
    'ERR_RELEASE_WITHDRAWN',
    'A transfer was cut off: the customer may no longer have the release (revoked, yanked, behind a new EULA).',
  ),
  BANNED: defineError('ERR_BANNED', 'The client address is banned for a while after repeated failed logins.'),
  TOO_MANY_SESSIONS: defineError('ERR_TOO_MANY_SESSIONS', 'The customer or the client address has as many sessions open as allowed.'),
  READ_ONLY: defineError('ERR_READ_ONLY', 'Customer areas are read-only: uploads, deletions, renames and changes are refused.'),
} as const;
