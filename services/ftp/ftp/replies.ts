import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf } from '../../../lib/errors/index.js';
import type { FileHostErrorCode } from '../http/status.js';
import { BANNED_WORDS } from '../common/refusal-words.js';

/**
 * The FTP edge's translation of the file host's error codes into replies: the one place where a
 * domain error becomes a reply code, and every code has one (the compiler checks it). `close`
 * marks the replies after which the control connection is closed (421 always means so);
 * `internal` marks errors that are the server's to look into: the caller logs them whole, and the
 * client gets a generic reply. Errors without a code are unknown: logged whole, answered
 * generically too.
 */
export interface FtpReply {
  code: number;
  message: string;
  close?: boolean;
  internal?: boolean;
}

const STORES: ReadonlySet<unknown> = new Set(['STOR', 'APPE', 'STOU']);

function detail(err: Error, name: string): unknown {
  return (err as { details?: Record<string, unknown> }).details?.[name];
}

const internal = (): FtpReply => ({ ...INTERNAL_ERROR, internal: true });

const REPLIES: Readonly<Record<FileHostErrorCode, (err: Error) => FtpReply>> = {
  [FileHostErrors.INVALID_INPUT.code]: (err) => ({ code: 501, message: capitalise(err.message) }),
  [FileHostErrors.PATH_REFUSED.code]: (err) => ({ code: 550, message: capitalise(err.message) }),
  [FileHostErrors.NOT_FOUND.code]: () => ({ code: 550, message: 'No such file or directory' }),
  // An upload is "file name not allowed" (553); deleting, renaming, making directories: 550.
  [FileHostErrors.READ_ONLY.code]: (err) => ({ code: STORES.has(detail(err, 'command')) ? 553 : 550, message: `Permission denied: ${err.message}` }),
  [FileHostErrors.AUTH_REFUSED.code]: () => ({ code: 530, message: 'Login incorrect' }),
  [FileHostErrors.BANNED.code]: () => ({ code: 421, message: BANNED_WORDS, close: true }),
  [FileHostErrors.TOO_MANY_SESSIONS.code]: (err) => ({ code: 421, message: `Too many sessions: ${err.message}`, close: true }),
  [FileHostErrors.GATEWAY_UNAVAILABLE.code]: () => ({ code: 421, message: 'Service not available, try again later', close: true }),
  // Not the client's doing: an upload's bytes, staging, the filesystems, an HTTP ticket.
  [FileHostErrors.TICKET_INVALID.code]: internal,
  [FileHostErrors.TICKET_SUPERSEDED.code]: internal,
  // A transfer cut off because the customer lost the release: the data connection's reply.
  [FileHostErrors.RELEASE_WITHDRAWN.code]: (err) => ({ code: 426, message: `Transfer aborted: ${err.message}` }),
  [FileHostErrors.OBJECT_MISMATCH.code]: internal,
  [FileHostErrors.STAGING_FAILED.code]: internal,
  [FileHostErrors.CROSS_DEVICE.code]: internal,
  [FileHostErrors.INTERNAL.code]: internal,
};

/** What an unknown error gets (after it was logged whole). */
export const INTERNAL_ERROR: FtpReply = Object.freeze({ code: 451, message: 'Requested action aborted: internal error' });

/** The reply for a domain error, or undefined when the error is not one of ours. */
export function replyOf(err: unknown): FtpReply | undefined {
  const code = codeOf(err);
  const make = code === undefined ? undefined : (REPLIES as Readonly<Record<string, (err: Error) => FtpReply>>)[code];
  return make?.(err as Error);
}

/** The whole table: each code's reply (for the documentation and its test). */
export function ftpReplies(): Record<FileHostErrorCode, (err: Error) => FtpReply> {
  return { ...REPLIES };
}

/** Reply text is one line of printable characters: a client's path echoed back cannot inject a reply. */
export function oneLine(text: string, max = 512): string {
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > max ? `${clean.slice(0, max)}…` : clean;
}

/** A path as PWD/MKD quote it (RFC 959: a double quote inside is doubled). */
export function quotePath(path: string): string {
  return `"${oneLine(path, 4096).replace(/"/g, '""')}"`;
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
