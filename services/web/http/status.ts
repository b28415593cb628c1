/**
 * The one translation of error codes to HTTP statuses: the web host's own codes and those the
 * internal-db and the file host send back through it. A code not listed is an internal error (500).
 */
export const HTTP_STATUS: Readonly<Record<string, number>> = Object.freeze({
  // web host
  ERR_INVALID_INPUT: 400,
  ERR_MALFORMED_BODY: 400,
  ERR_UNAUTHENTICATED: 401,
  ERR_FORBIDDEN: 403,
  ERR_CSRF: 403,
  ERR_NOT_ENTITLED: 403,
  ERR_EULA_REQUIRED: 403,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_METHOD_NOT_ALLOWED: 405,
  ERR_CONFLICT: 409,
  ERR_BODY_TOO_LARGE: 413,
  ERR_UNSUPPORTED_MEDIA_TYPE: 415,
  ERR_RATE_LIMITED: 429,
  ERR_UPLOAD_INCOMPLETE: 400,
  ERR_INTERNAL: 500,
  ERR_GATEWAY_UNAVAILABLE: 503,
  ERR_NO_FILE_HOST: 503,
  // internal-db
  ERR_NOT_FOUND: 404,
  ERR_STATE: 409,
  ERR_AUTH_REFUSED: 401,
  ERR_BACKUP_FAILED: 500,
  // file host
  ERR_OBJECT_MISMATCH: 422,
  ERR_STAGING_FAILED: 503,
  ERR_PATH_REFUSED: 400,
  // commlink (a request the far end could not take)
  ERR_TIMEOUT: 504,
  ERR_TOO_MANY_IN_FLIGHT: 503,
  ERR_STREAM_ABORTED: 400,
});

export function httpStatusOf(code: string): number {
  return HTTP_STATUS[code] ?? 500;
}
