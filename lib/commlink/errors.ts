/**
 * The commlink's error catalogue. Every error the library raises is one of these, with a stable
 * `code`. Protocol edges (HTTP, FTP, SFTP) translate codes; they never match on messages.
 */

export class CommlinkError extends Error {
  readonly code: string;
  /** Extra machine-readable facts (byte offset, field, limit ...). Never secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: string, message: string, details: Record<string, unknown> = {}, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'CommlinkError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }
}

/** A catalogue entry: a stable code, a one-line description, and a constructor. */
export interface ErrorDefinition {
  readonly code: string;
  readonly description: string;
  (message: string, details?: Record<string, unknown>, cause?: unknown): CommlinkError;
}

function define(code: string, description: string): ErrorDefinition {
  const make = (message: string, details?: Record<string, unknown>, cause?: unknown) =>
    new CommlinkError(code, message, details, cause);
  return Object.assign(make, { code, description });
}

export const Errors = {
  // tobj
  TOBJ_SYNTAX: define('ERR_TOBJ_SYNTAX', 'A tobj payload does not follow the grammar.'),
  TOBJ_LIMIT: define('ERR_TOBJ_LIMIT', 'A tobj payload exceeds a configured limit (depth, size, names, attributes).'),
  TOBJ_ENCODING: define('ERR_TOBJ_ENCODING', 'A tobj payload is not valid UTF-8 or holds a forbidden character.'),
  TOBJ_TYPE: define('ERR_TOBJ_TYPE', 'A value cannot be encoded as, or decoded from, a tobj element.'),
  // key bag
  KEYBAG_FORMAT: define('ERR_KEYBAG_FORMAT', 'The key bag file is malformed.'),
  KEYBAG_PERMISSIONS: define('ERR_KEYBAG_PERMISSIONS', 'The key bag file is readable by group or others.'),
  // wire
  FRAME_TOO_LONG: define('ERR_FRAME_TOO_LONG', 'A line exceeded the maximum packet length.'),
  FRAME_BAD_CHARS: define('ERR_FRAME_BAD_CHARS', 'A line holds bytes outside the 7-bit filter alphabet or a bare CR/LF.'),
  PACKET_MALFORMED: define('ERR_PACKET_MALFORMED', 'A packet is too short, or has an unknown version, suite or kind.'),
  PACKET_SEQUENCE: define('ERR_PACKET_SEQUENCE', 'A packet carries an unexpected sequence number (replayed, reordered or dropped).'),
  PACKET_AUTH: define('ERR_PACKET_AUTH', 'A packet failed authentication (forged, truncated, tampered or wrong key).'),
  HANDSHAKE: define('ERR_HANDSHAKE', 'The hello exchange failed (other key bag, other suite, bad hello).'),
  SUITE_UNSUPPORTED: define('ERR_SUITE_UNSUPPORTED', 'The cipher suite is not known or not enabled.'),
  // messaging
  MESSAGE_INVALID: define('ERR_MESSAGE_INVALID', 'A well-formed tobj is not a valid commlink message.'),
  TIMEOUT: define('ERR_TIMEOUT', 'A request got no reply within its timeout.'),
  CLOSED: define('ERR_CLOSED', 'The connection closed before the request completed.'),
  NOT_CONNECTED: define('ERR_NOT_CONNECTED', 'No connection to the peer is established.'),
  UNKNOWN_OPERATION: define('ERR_UNKNOWN_OPERATION', 'The peer serves no operation of that name.'),
  REMOTE_INTERNAL: define('ERR_REMOTE_INTERNAL', 'The peer failed while handling the request (details are in its log).'),
  TOO_MANY_IN_FLIGHT: define('ERR_TOO_MANY_IN_FLIGHT', 'The peer has reached its limit of requests in flight.'),
  STREAM_ABORTED: define('ERR_STREAM_ABORTED', 'A bulk stream was aborted by its sender, its receiver or a closed connection.'),
  STREAM_PROTOCOL: define('ERR_STREAM_PROTOCOL', 'A bulk stream broke the flow-control rules (unknown stream, credit overrun).'),
  CONFIG: define('ERR_CONFIG', 'An option has an invalid value.'),
} as const;

export type ErrorName = keyof typeof Errors;

/** True when `err` is a CommlinkError with the given catalogue entry's code. */
export function isError(err: unknown, def: ErrorDefinition): err is CommlinkError {
  return err instanceof CommlinkError && err.code === def.code;
}

/** An error the peer sent back for one of our requests. Its code is the peer's, verbatim. */
export class RemoteError extends CommlinkError {
  readonly remote = true;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'RemoteError';
  }
}

/** Services build their own catalogues with this, so their errors can cross the commlink. */
export function defineError(code: string, description: string): ErrorDefinition {
  return define(code, description);
}
