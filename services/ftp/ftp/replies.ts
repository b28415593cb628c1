import { FileHostErrors } from '../errors.js';

/**
 * The FTP edge's translation of the file host's error codes into replies: the one place where a
 * domain error becomes a reply code. `close` marks the replies after which the control connection
 * is closed (421 always means so). Errors without a code here are unknown: the caller logs them
 * whole and answers generically.
 */
export interface FtpReply {
  code: number;
  message: string;
  close?: boolean;
}

const STORES: ReadonlySet<unknown> = new Set(['STOR', 'APPE', 'STOU']);

function detail(err: Error, name: string): unknown {
  return (err as { details?: Record<string, unknown> }).details?.[name];
}

const REPLIES: Record<string, (err: Error) => FtpReply> = {
  [FileHostErrors.PATH_REFUSED.code]: (err) => ({ code: 550, message: capitalise(err.message) }),
  [FileHostErrors.NOT_FOUND.code]: () => ({ code: 550, message: 'No such file or directory' }),
  // An upload is "file name not allowed" (553); deleting, renaming, making directories: 550.
  [FileHostErrors.READ_ONLY.code]: (err) => ({ code: STORES.has(detail(err, 'command')) ? 553 : 550, message: `Permission denied: ${err.message}` }),
  [FileHostErrors.AUTH_REFUSED.code]: () => ({ code: 530, message: 'Login incorrect' }),
  [FileHostErrors.BANNED.code]: () => ({ code: 421, message: 'Too many failed logins from your address: banned for a while, try again later', close: true }),
  [FileHostErrors.TOO_MANY_SESSIONS.code]: (err) => ({ code: 421, message: `Too many sessions: ${err.message}`, close: true }),
  [FileHostErrors.GATEWAY_UNAVAILABLE.code]: () => ({ code: 421, message: 'Service not available, try again later', close: true }),
};

/** The reply for a domain error, or undefined when the error is not one of ours. */
export function replyOf(err: unknown): FtpReply | undefined {
  const code = (err as { code?: unknown })?.code;
  const make = typeof code === 'string' ? REPLIES[code] : undefined;
  return make?.(err as Error);
}

/** What an unknown error gets (after it was logged whole). */
export const INTERNAL_ERROR: FtpReply = Object.freeze({ code: 451, message: 'Requested action aborted: internal error' });

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
