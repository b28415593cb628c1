import { defineError } from '../../lib/commlink/index.js';

/** The web host's error catalogue (its HTTP edge comes with the front end). */
export const WebErrors = {
  INVALID_INPUT: defineError('ERR_INVALID_INPUT', 'A request field is missing, of the wrong type, out of range, or unknown.'),
  GATEWAY_UNAVAILABLE: defineError('ERR_GATEWAY_UNAVAILABLE', 'The internal-db (or a file host) cannot be reached now; try again.'),
  CONFLICT: defineError('ERR_CONFLICT', 'The name is taken by another live connection (two file hosts with one name).'),
  NO_FILE_HOST: defineError('ERR_NO_FILE_HOST', 'No file host (or not the one named) is connected to this web host.'),
  NOT_ENTITLED: defineError('ERR_NOT_ENTITLED', 'The customer is not entitled to that release (or it does not exist).'),
  EULA_REQUIRED: defineError('ERR_EULA_REQUIRED', "The release's EULA must be accepted before it can be staged or downloaded."),
} as const;

/** Codes that mean "the link broke on the way", not "the far end said no". */
export const LINK_CODES: ReadonlySet<string> = new Set(['ERR_TIMEOUT', 'ERR_CLOSED', 'ERR_NOT_CONNECTED', 'ERR_TOO_MANY_IN_FLIGHT', 'ERR_GATEWAY_UNAVAILABLE']);
