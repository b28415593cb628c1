import { z } from 'zod';

/**
 * The name rules of the whole system, each written once: the web API, the internal-db, the file
 * host, the tickets and the configuration accept and refuse exactly the same names.
 */

/** C0 and C1 control characters and DEL: never in a name, a text field or a client path. */
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * Invisible and bidirectional-control characters: zero-width space, joiners and marks
 * (U+200B–U+200F), bidi embeddings and overrides (U+202A–U+202E), bidi isolates (U+2066–U+2069),
 * and their kin (soft hyphen, Arabic letter mark, Mongolian vowel separator, word joiner and
 * invisible operators U+2060–U+2064, the byte-order mark). They make two different names look the
 * same, or one name read backwards (`exe.txt` shown for `txt.exe`), so no name may hold them.
 */
export const INVISIBLE_CHARS = /[\u00ad\u061c\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]/;

/** A percent-escape: a name holding one would be decoded differently by different clients. */
export const PERCENT_ESCAPE = /%[0-9a-fA-F]{2}/;

/** The longest name one path segment may have (bytes of UTF-8), as most filesystems allow. */
export const MAX_NAME_BYTES = 255;

export const LOGIN = /^[a-z0-9][a-z0-9._-]{1,63}$/;
export const PRODUCT_CODE = /^[a-z0-9][a-z0-9._-]{0,63}$/;
export const HOST_NAME = /^[a-z0-9][a-z0-9.-]{0,62}$/;
export const SHA256_HEX = /^[0-9a-f]{64}$/;
/** `http(s)://host[:port]` with no path. */
export const HTTP_BASE_URL = /^https?:\/\/[^\s/?#]+$/;

/** Why a file name is refused, or undefined when it is a plain name any protocol can serve. */
export function fileNameProblem(name: string): string | undefined {
  if (name === '' || name === '.' || name === '..') return 'a file name is not empty, . or ..';
  if (Buffer.byteLength(name) > MAX_NAME_BYTES) return `a file name is at most ${MAX_NAME_BYTES} bytes`;
  if (name.includes('/') || name.includes('\\')) return 'a file name has no slashes or backslashes';
  if (CONTROL_CHARS.test(name)) return 'a file name has no control characters';
  if (INVISIBLE_CHARS.test(name)) return 'a file name has no invisible or bidirectional-control characters';
  if (PERCENT_ESCAPE.test(name)) return 'a file name has no percent-escapes (%XX)';
  return undefined;
}

/** A text field a person reads (a name, a title, a label): no control or invisible characters. */
export function textProblem(text: string): string | undefined {
  if (CONTROL_CHARS.test(text)) return 'control characters are not allowed';
  if (INVISIBLE_CHARS.test(text)) return 'invisible or bidirectional-control characters are not allowed';
  return undefined;
}

function refineWith(schema: z.ZodString, problem: (value: string) => string | undefined): z.ZodString {
  return schema.superRefine((value, ctx) => {
    const message = problem(value);
    if (message !== undefined) ctx.addIssue({ code: 'custom', message });
  });
}

export const login = z.string().regex(LOGIN, 'a login is 2-64 of a-z 0-9 . _ -, starting with a letter or digit');
export const productCode = z.string().regex(PRODUCT_CODE, 'a product code is 1-64 of a-z 0-9 . _ -, starting with a letter or digit');
/** A release version as it is written (release.create checks it is a valid semantic version). */
export const version = z.string().regex(/^[0-9A-Za-z][0-9A-Za-z.+-]{0,127}$/, 'a semantic version such as 2.1.0 (at most 128 of 0-9 A-Z a-z . + -)');
/** A complete semantic version, MAJOR.MINOR.PATCH with an optional prerelease and build (what a client says it runs). */
export const semanticVersion = z
  .string()
  .max(128)
  .regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/, 'a semantic version such as 2.1.0');
export const channel = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a channel is a lowercase word such as stable or beta');
/** A platform or an architecture. */
export const label = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, 'a platform or arch is 1-32 of a-z 0-9 _ . -');
/** The name of a file host (also its directory in the shared repository's tmp/). */
export const hostName = z.string().regex(HOST_NAME, 'a host name is 1-63 of a-z 0-9 . -, starting with a letter or digit');
export const fileName = refineWith(z.string(), fileNameProblem).describe(
  'A file name: 1-255 bytes of UTF-8, not . or .., with no slash, backslash, control or invisible character, and no %XX escape.',
);
export const sha256 = z.string().regex(SHA256_HEX, 'lowercase hex SHA-256');
export const sshFingerprint = z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'an OpenSSH SHA256 fingerprint (SHA256:…)');
/** A text field of 1 to `max` characters (a name, a title). */
export const text = (max: number) => refineWith(z.string().min(1).max(max), textProblem).describe(`1-${max} characters, no control or invisible characters`);
export const isoTime = z.iso.datetime({ offset: true });
export const id = z.int().min(1);
export const protocol = z.enum(['http', 'ftp', 'sftp']);
/** A password as given to be checked (the rule for a new one is `newPassword`). */
export const password = z.string().min(1).max(1024);
export const newPassword = z.string().min(8).max(1024);
/** `http(s)://host[:port]` with no path: where a file host's downloads or the portal are. */
export const httpBaseUrl = z.string().regex(HTTP_BASE_URL, 'http(s)://host[:port] with no path');
export const ftpBaseUrl = z.string().regex(/^ftps?:\/\/[^\s/?#@]+$/, 'ftp(s)://host[:port] with no path or login');
export const sftpBaseUrl = z.string().regex(/^sftp:\/\/[^\s/?#@]+$/, 'sftp://host[:port] with no path or login');
