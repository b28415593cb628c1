/**
 * The commlink's error catalogue. Every error the library raises is one of these (or the shared
 * CONFIG), with a stable `code`. Protocol edges (HTTP, FTP, SFTP) translate codes; they never
 * match on messages.
 */
import { CodedError, CommonErrors, defineError, type CodeOf } from '../errors/index.js';

export const Errors = {
  // tobj
  TOBJ_SYNTAX: defineError('ERR_TOBJ_SYNTAX', 'A tobj payload does not follow the grammar.'),
  TOBJ_LIMIT: defineError('ERR_TOBJ_LIMIT', 'A tobj payload exceeds a configured limit (depth, size, names, attributes).'),
  TOBJ_ENCODING: defineError('ERR_TOBJ_ENCODING', 'A tobj payload is not valid UTF-8 or holds a forbidden character.'),
  TOBJ_TYPE: defineError('ERR_TOBJ_TYPE', 'A value cannot be encoded as, or decoded from, a tobj element.'),
  // key bag
  KEYBAG_FORMAT: defineError('ERR_KEYBAG_FORMAT', 'The key bag file is malformed.'),
  KEYBAG_PERMISSIONS: defineError('ERR_KEYBAG_PERMISSIONS', 'The key bag file grants group or others some access (a mode bit of 0o077 is set).'),
  // wire
  FRAME_TOO_LONG: defineError(
    'ERR_FRAME_TOO_LONG',
    "A line exceeded the maximum line length (the hello bound before the peer's hello, else the maximum packet length).",
  ),
  FRAME_BAD_CHARS: defineError('ERR_FRAME_BAD_CHARS', 'A line holds bytes outside the 7-bit filter alphabet or a bare CR/LF.'),
  PACKET_MALFORMED: defineError('ERR_PACKET_MALFORMED', 'A packet is too short, or has an unknown version, suite or kind.'),
  PACKET_SEQUENCE: defineError('ERR_PACKET_SEQUENCE', 'A packet carries an unexpected sequence number (replayed, reordered or dropped).'),
  PACKET_AUTH: defineError('ERR_PACKET_AUTH', 'A packet failed authentication (forged, truncated, tampered or wrong key).'),
  HANDSHAKE: defineError('ERR_HANDSHAKE', 'The hello exchange failed (other key bag, other suite, other protocol version, bad hello).'),
  HANDSHAKE_LIMIT: defineError('ERR_HANDSHAKE_LIMIT', 'A listener refused a new connection: too many of its connections are still in the hello exchange.'),
  KEY_LIMIT: defineError('ERR_KEY_LIMIT', 'A peer sent more data under one key than its cipher suite allows (it did not switch keys in time).'),
  SUITE_UNSUPPORTED: defineError('ERR_SUITE_UNSUPPORTED', 'The cipher suite is not known or not enabled.'),
  // messaging
  MESSAGE_INVALID: defineError('ERR_MESSAGE_INVALID', 'A well-formed tobj is not a valid commlink message.'),
  TIMEOUT: defineError('ERR_TIMEOUT', 'A request got no reply within its timeout.'),
  CLOSED: defineError('ERR_CLOSED', 'The connection closed before the request completed.'),
  NOT_CONNECTED: defineError('ERR_NOT_CONNECTED', 'No connection to the peer is established.'),
  UNKNOWN_OPERATION: defineError('ERR_UNKNOWN_OPERATION', 'The peer serves no operation of that name.'),
  REMOTE_INTERNAL: defineError('ERR_REMOTE_INTERNAL', 'The peer failed while handling the request (details are in its log).'),
  TOO_MANY_IN_FLIGHT: defineError('ERR_TOO_MANY_IN_FLIGHT', 'The peer has reached its limit of requests in flight.'),
  REPLY_INVALID: defineError(
    'ERR_REPLY_INVALID',
    "A peer's reply does not match the operation's contract (the field is named); the two ends run different versions, or the peer is faulty.",
  ),
  STREAM_ABORTED: defineError('ERR_STREAM_ABORTED', 'A bulk stream was aborted by its sender, its receiver or a closed connection.'),
  STREAM_PROTOCOL: defineError('ERR_STREAM_PROTOCOL', 'A bulk stream broke the flow-control rules (unknown stream, credit overrun).'),
  CONFIG: CommonErrors.CONFIG,
} as const;

export type CommlinkErrorCode = CodeOf<typeof Errors>;

/** An error the peer sent back for one of our requests. Its code is the peer's, verbatim. */
export class RemoteError extends CodedError {
  readonly remote = true;

  constructor(code: string, message: string, details: Record<string, unknown> = {}) {
    super(code, message, details);
    this.name = 'RemoteError';
  }
}

/**
 * Codes that mean "the link broke on the way", not "the far end said no": here (a timeout, a
 * closed connection, no connection, a full pipeline), or at a hop beyond (the web host answering
 * that the internal-db is unreachable), or a peer that does not serve the operation at all (a
 * version skew between hosts: another host may).
 */
const LINK_FAILURES: ReadonlySet<string> = new Set([
  Errors.TIMEOUT.code,
  Errors.CLOSED.code,
  Errors.NOT_CONNECTED.code,
  Errors.TOO_MANY_IN_FLIGHT.code,
  Errors.UNKNOWN_OPERATION.code,
  CommonErrors.GATEWAY_UNAVAILABLE.code,
]);

/** True when `err` says a request did not get through (see LINK_FAILURES), whether raised here or answered by a hop beyond. */
export function isLinkFailure(err: unknown): err is CodedError {
  return err instanceof CodedError && LINK_FAILURES.has(err.code);
}
