import { CommonErrors, defineError } from '../../lib/errors/index.js';

/**
 * The web host's error catalogue. Codes are stable; the HTTP edge (http/status.ts) translates
 * them, and those of the internal-db, the file host and the commlink that pass through, to HTTP
 * statuses.
 */
export const WebErrors = {
  INVALID_INPUT: CommonErrors.INVALID_INPUT,
  NOT_FOUND: CommonErrors.NOT_FOUND,
  CONFLICT: CommonErrors.CONFLICT,
  AUTH_REFUSED: CommonErrors.AUTH_REFUSED,
  GATEWAY_UNAVAILABLE: CommonErrors.GATEWAY_UNAVAILABLE,
  INTERNAL: CommonErrors.INTERNAL,
  NO_FILE_HOST: defineError('ERR_NO_FILE_HOST', 'No file host (or not the one named) is connected to this web host.'),
  NOT_ENTITLED: defineError('ERR_NOT_ENTITLED', 'The customer is not entitled to that release (or it does not exist).'),
  EULA_REQUIRED: defineError('ERR_EULA_REQUIRED', "The release's EULA must be accepted before it can be staged or downloaded."),
  UNAUTHENTICATED: defineError('ERR_UNAUTHENTICATED', 'The request carries no valid credentials (API token or portal session).'),
  FORBIDDEN: defineError('ERR_FORBIDDEN', 'The credentials are valid but do not allow this (another role, or another vendor).'),
  CSRF: defineError('ERR_CSRF', 'A form was posted without the valid anti-forgery token of its session.'),
  RATE_LIMITED: defineError('ERR_RATE_LIMITED', 'Too many failed sign-ins from this address; wait and try again.'),
  ROUTE_NOT_FOUND: defineError('ERR_ROUTE_NOT_FOUND', 'No page or API endpoint at that path.'),
  METHOD_NOT_ALLOWED: defineError('ERR_METHOD_NOT_ALLOWED', 'The endpoint exists but not with that method.'),
  BODY_TOO_LARGE: defineError('ERR_BODY_TOO_LARGE', 'The request body is larger than allowed.'),
  UNSUPPORTED_MEDIA_TYPE: defineError('ERR_UNSUPPORTED_MEDIA_TYPE', 'The request body is not of a type this endpoint accepts.'),
  MALFORMED_BODY: defineError('ERR_MALFORMED_BODY', 'The request body cannot be parsed (malformed JSON or form data, bad encoding, JSON nested too deep).'),
  UPLOAD_INCOMPLETE: defineError('ERR_UPLOAD_INCOMPLETE', 'The upload ended before its declared length, or was cut off; nothing was stored.'),
} as const;
