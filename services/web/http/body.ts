import type { Http2ServerRequest } from 'node:http2';
import getRawBody from 'raw-body';
import type { z } from 'zod';
import { firstProblem, shownName } from '../../../lib/validation/input.js';
import { WebErrors } from '../errors.js';
import type { WebContext } from './context.js';

/**
 * Whether the request comes with a body: a Content-Length above 0; else, over HTTP/1.1, a
 * Transfer-Encoding; over HTTP/2 (which has neither chunking nor a Transfer-Encoding header), a
 * request stream not ended with its headers — a body of unknown length is the normal case there.
 */
export function hasBody(ctx: WebContext): boolean {
  const length = ctx.get('content-length');
  if (length !== '') return length !== '0';
  if (ctx.req.httpVersionMajor >= 2) return !(ctx.req as unknown as Http2ServerRequest).stream.endAfterHeaders;
  return ctx.get('transfer-encoding') !== '';
}

/**
 * Whether the Content-Type's media type (parameters aside, any case) is `type`. Not koa's ctx.is:
 * that answers null for a request without Content-Length or Transfer-Encoding, which over HTTP/2
 * is any body of unknown length.
 */
function mediaTypeIs(ctx: WebContext, type: string): boolean {
  return ctx.request.type.trim().toLowerCase() === type;
}

/** Reads the whole request body (up to `limit` bytes; 413 beyond, before more is read). */
async function readBytes(ctx: WebContext, limit: number): Promise<Buffer> {
  const declared = ctx.get('content-length');
  if (declared !== '' && Number(declared) > limit) throw WebErrors.BODY_TOO_LARGE(`the body is ${declared} bytes; at most ${limit} are accepted`, { limit });
  try {
    return await getRawBody(ctx.req, { limit, length: declared === '' ? undefined : declared });
  } catch (err) {
    const type = (err as { type?: string }).type;
    if (type === 'entity.too.large') throw WebErrors.BODY_TOO_LARGE(`the body is larger than ${limit} bytes`, { limit });
    if (type === 'request.size.invalid' || type === 'request.aborted') throw WebErrors.MALFORMED_BODY('the body ended before its declared length');
    throw err;
  }
}

/** Validates `value` against a strict schema; a bad field is ERR_INVALID_INPUT naming it. */
export function validate<S extends z.ZodType>(schema: S, value: unknown, where: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const { field, what } = firstProblem(parsed.error);
    const named = field === '' ? where : `${where}.${field}`;
    throw WebErrors.INVALID_INPUT(`${where} ${what}`, { field: named });
  }
  return parsed.data;
}

/** How large and how deep a JSON body may be. */
export interface JsonLimits {
  /** Bytes (413 beyond). */
  maxBytes: number;
  /** Nesting of arrays and objects (400 beyond). */
  maxDepth: number;
}

/**
 * True when the JSON text in `bytes` nests arrays and objects deeper than `maxDepth` (brackets in
 * strings do not count). A scan of the raw bytes, run before JSON.parse: parsing a body of a
 * million nested brackets takes half a second of the event loop, and JSON.parse takes no limit.
 */
export function nestsDeeperThan(bytes: Uint8Array, maxDepth: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i];
    if (inString) {
      if (byte === 0x5c)
        i++; // a backslash: the next byte is escaped
      else if (byte === 0x22) inString = false;
    } else if (byte === 0x22) {
      inString = true;
    } else if (byte === 0x5b || byte === 0x7b) {
      if (++depth > maxDepth) return true;
    } else if (byte === 0x5d || byte === 0x7d) {
      depth--;
    }
  }
  return false;
}

/**
 * The JSON body, validated. A body must be `application/json` (415 otherwise), nest no deeper than
 * `limits.maxDepth` and parse (400); an empty body counts as `{}` so that endpoints without fields
 * need no body.
 */
export async function readJson<S extends z.ZodType>(ctx: WebContext, schema: S, limits: JsonLimits): Promise<z.output<S>> {
  if (!hasBody(ctx)) return validate(schema, {}, 'body');
  if (!mediaTypeIs(ctx, 'application/json'))
    throw WebErrors.UNSUPPORTED_MEDIA_TYPE(`the body must be application/json (got ${ctx.get('content-type') || 'no Content-Type'})`);
  const bytes = await readBytes(ctx, limits.maxBytes);
  if (nestsDeeperThan(bytes, limits.maxDepth)) throw WebErrors.MALFORMED_BODY(`the body nests arrays and objects deeper than ${limits.maxDepth} levels`);
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (err) {
    throw WebErrors.MALFORMED_BODY(`the body is not valid JSON: ${(err as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw WebErrors.INVALID_INPUT('body: must be a JSON object', { field: 'body' });
  return validate(schema, value, 'body');
}

/**
 * A form body (`application/x-www-form-urlencoded`), validated: each field once (a repeated field is
 * refused), values as strings.
 */
export async function readForm<S extends z.ZodType>(ctx: WebContext, schema: S, limit: number): Promise<z.output<S>> {
  if (!mediaTypeIs(ctx, 'application/x-www-form-urlencoded'))
    throw WebErrors.UNSUPPORTED_MEDIA_TYPE(`a form must be application/x-www-form-urlencoded (got ${ctx.get('content-type') || 'no Content-Type'})`);
  const bytes = await readBytes(ctx, limit);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw WebErrors.MALFORMED_BODY('the form is not valid UTF-8');
  }
  const fields: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(text)) {
    if (Object.hasOwn(fields, key)) throw WebErrors.INVALID_INPUT(`form field ${shownName(key)} is given twice`, { field: shownName(key) });
    fields[key] = value;
  }
  return validate(schema, fields, 'form');
}

/** The query string, validated: each parameter once, values as strings, unknown ones refused. */
export function readQuery<S extends z.ZodType>(ctx: WebContext, schema: S): z.output<S> {
  const fields: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(ctx.querystring)) {
    if (Object.hasOwn(fields, key)) throw WebErrors.INVALID_INPUT(`query parameter ${shownName(key)} is given twice`, { field: shownName(key) });
    fields[key] = value;
  }
  return validate(schema, fields, 'query');
}
