import { Errors, RemoteError } from './errors.js';
import type { Value } from './tobj/index.js';
import { type CodedError } from '../errors/index.js';

/** Message envelope rules of PROTOCOL.md §11: request ids, bodies, and errors as they cross the wire. */

/** A message's body: the named fields of a request, a reply, an error or a stream control message. */
export type Body = Record<string, Value>;

const REQUEST_ID = /^[0-9A-Za-z._-]{1,64}$/;
const DETAIL_KEY = /^[A-Za-z_][A-Za-z0-9_.-]{0,63}$/;

/** The `id` attribute of a request, reply or error; a protocol error when missing or malformed. */
export function requireId(attrs: Record<string, string>, type: string): string {
  const value = attrs.id;
  if (value === undefined || value === '') throw Errors.MESSAGE_INVALID(`${type} message without "id"`);
  if (!REQUEST_ID.test(value)) throw Errors.MESSAGE_INVALID(`${type} message with an invalid id "${value.slice(0, 70)}"`);
  return value;
}

/** The body of an `ffs.error`: code, message, and the details that are scalars with field names. */
export function errorBody(error: CodedError): Body {
  const body: Body = { code: error.code, message: error.message };
  const details: Body = {};
  for (const [key, value] of Object.entries(error.details)) {
    if (!DETAIL_KEY.test(key) || key === '__proto__' || key === 'constructor' || key === 'prototype') continue;
    if (value === null || typeof value === 'string' || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value))) {
      details[key] = value;
    }
  }
  if (Object.keys(details).length > 0) body.details = details;
  return body;
}

/** The error an `ffs.error` body stands for. */
export function remoteError(body: Body): RemoteError {
  const code = typeof body.code === 'string' ? body.code : Errors.REMOTE_INTERNAL.code;
  const message = typeof body.message === 'string' ? body.message : 'remote error';
  const details =
    body.details && typeof body.details === 'object' && !Array.isArray(body.details) && !(body.details instanceof Uint8Array) ? (body.details as Body) : {};
  return new RemoteError(code, message, details);
}
