import { type Errors as CommlinkErrors } from '../../../lib/commlink/index.js';
import { type FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { type InternalDbErrors } from '../../../lib/contracts/internal-db/errors.js';
import { type CommonErrors, type CodeOf } from '../../../lib/errors/index.js';
import { type WebErrors } from '../errors.js';

/** Every code that can reach the web host's HTTP edge: its own, and those passed through from the internal-db, a file host and the commlink. */
export type WebEdgeCode =
  CodeOf<typeof WebErrors> | CodeOf<typeof InternalDbErrors> | CodeOf<typeof FileHostErrors> | CodeOf<typeof CommlinkErrors> | CodeOf<typeof CommonErrors>;

/**
 * The one translation of error codes to HTTP statuses at the web host. Every code has its status
 * (the compiler checks it). A 5xx other than 502, 503 and 504 is answered generically (the error
 * is logged whole); 502-504 say what is unavailable.
 */
export const HTTP_STATUS: Readonly<Record<WebEdgeCode, number>> = Object.freeze({
  // shared
  ERR_INVALID_INPUT: 400,
  ERR_NOT_FOUND: 404,
  ERR_CONFLICT: 409,
  ERR_AUTH_REFUSED: 401,
  ERR_GATEWAY_UNAVAILABLE: 503,
  ERR_INTERNAL: 500,
  ERR_CONFIG: 500,
  // web host
  ERR_MALFORMED_BODY: 400,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_CSRF: 403,
  ERR_NOT_ENTITLED: 403,
  ERR_EULA_REQUIRED: 403,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_BODY_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_RATE_LIMITED: 429,
  ERR_UPLOAD_INCOMPLETE: 400,
  ERR_NO_FILE_HOST: 503,
  // internal-db
  ERR_STATE: 409,
  ERR_BACKUP_FAILED: 500,
  // file host
  ERR_OBJECT_MISMATCH: 422,
  ERR_STAGING_FAILED: 503,
  ERR_CROSS_DEVICE: 500,
  ERR_PATH_REFUSED: 400,
  ERR_TICKET_INVALID: 403,
  ERR_TICKET_SUPERSEDED: 403,
  ERR_RELEASE_WITHDRAWN: 410,
  ERR_BANNED: 403,
  ERR_TOO_MANY_SESSIONS: 503,
  ERR_READ_ONLY: 403,
  // commlink: a request the far end could not take, or a peer that broke the rules
  ERR_TIMEOUT: 504,
  ERR_TOO_MANY_IN_FLIGHT: 503,
  ERR_STREAM_ABORTED: 400,
  ERR_REPLY_INVALID: 502,
  ERR_CLOSED: 503,
  ERR_NOT_CONNECTED: 503,
  ERR_UNKNOWN_OPERATION: 502,
  ERR_REMOTE_INTERNAL: 502,
  ERR_STREAM_PROTOCOL: 502,
  ERR_MESSAGE_INVALID: 502,
  ERR_TOBJ_SYNTAX: 502,
  ERR_TOBJ_LIMIT: 502,
  ERR_TOBJ_ENCODING: 502,
  ERR_TOBJ_TYPE: 500,
  ERR_KEYBAG_FORMAT: 500,
  ERR_KEYBAG_PERMISSIONS: 500,
  ERR_FRAME_TOO_LONG: 502,
  ERR_FRAME_BAD_CHARS: 502,
  ERR_PACKET_MALFORMED: 502,
  ERR_PACKET_SEQUENCE: 502,
  ERR_PACKET_AUTH: 502,
  ERR_HANDSHAKE: 502,
  ERR_HANDSHAKE_LIMIT: 503,
  ERR_KEY_LIMIT: 502,
  ERR_SUITE_UNSUPPORTED: 502,
});

/** The status of a code; a code from nowhere (a bug) is an internal error. */
export function httpStatusOf(code: string): number {
  return (HTTP_STATUS as Readonly<Record<string, number>>)[code] ?? 500;
}
