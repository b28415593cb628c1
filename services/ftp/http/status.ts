import { FileHostErrors } from '../errors.js';

/** The HTTP edge's translation of the file host's error codes. */
const STATUS: Record<string, number> = {
  [FileHostErrors.PATH_REFUSED.code]: 404,
  [FileHostErrors.NOT_FOUND.code]: 404,
  [FileHostErrors.TICKET_INVALID.code]: 403,
  [FileHostErrors.INVALID_INPUT.code]: 400,
  [FileHostErrors.GATEWAY_UNAVAILABLE.code]: 503,
};

export function httpStatusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown }).code;
  return typeof code === 'string' ? STATUS[code] : undefined;
}
