import pino from 'pino';

/**
 * Structured logging on pino: one JSON object per line, written synchronously to stderr (a
 * crashing process keeps its last lines) or handed to `write` without its newline. A line reads
 *   {"level":"info","time":"<ISO 8601>",<base and child fields>,"msg":"…",<the call's fields>}
 * Every value is made safe once, on the way in (the call's fields at the call, bindings at
 * `child`), by `safe` below: secrets are redacted, errors logged whole, bigints written as strings.
 */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Takes each line (without its newline); default: written synchronously to stderr (fd 2). */
  write?: (line: string) => void;
  fields?: Record<string, unknown>;
}

/**
 * Field names whose values are secrets, redacted at any depth (in objects and in arrays of
 * objects, in the call's fields and in child bindings). Names are matched exactly: camelCase as the
 * code spells them, HTTP header names lower case as Node gives them. Error messages are not
 * redacted: they are written for people and never carry secrets.
 * This is done here, in the one walk that also serializes errors, rather than with pino's `redact`
 * paths: those need a path per name and depth (`x`, `*.x`, `*.*.x`), reach no deeper, and cost
 * 20–60 µs a line once wildcards are in (measured; a whole line costs about 2 µs here).
 */
export const SECRET_FIELDS: ReadonlySet<string> = new Set([
  'password',
  'passwordHash',
  'password_hash',
  'passphrase',
  'token',
  'tokens',
  'apiToken',
  'adminToken',
  'vendorToken',
  'customerToken',
  'ticket',
  'signature',
  'key',
  'keys',
  'privateKey',
  'privateKeyPem',
  'ticketPrivateKeyPem',
  'hostKey',
  'keyMaterial',
  'bagKey',
  'macKey',
  'encKey',
  'secret',
  'secrets',
  'sessionKey',
  'sessionKeys',
  'authorization',
  'proxy-authorization',
  'cookie',
  'cookies',
  'set-cookie',
]);
export const REDACTED = '[redacted]';

/** Nesting below a field deeper than this is written as TOO_DEEP: lines hold facts, not payloads (this also ends cycles). */
const MAX_DEPTH = 8;
const TOO_DEEP = '[too deep]';

/**
 * What a value is logged as. Errors (under any name, at any depth) are logged whole: name, message,
 * stack, code, the cause chain and an AggregateError's errors. Objects that JSON renders through
 * `toJSON` (Date, URL, Buffer) are left to it; any other object is copied key by key, as JSON would
 * read it, with secret fields redacted.
 */
function safe(value: unknown, depth: number): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value === null || typeof value !== 'object') return value;
  if (depth > MAX_DEPTH) return TOO_DEEP;
  if (value instanceof Error) {
    const out: Record<string, unknown> = { name: value.name, message: value.message, stack: value.stack };
    const code = (value as { code?: unknown }).code;
    if (code !== undefined) out.code = safe(code, depth + 1);
    if (value.cause !== undefined) out.cause = safe(value.cause, depth + 1);
    if (value instanceof AggregateError) out.errors = safe(value.errors, depth + 1);
    return out;
  }
  if (Array.isArray(value)) return value.map((item: unknown) => safe(item, depth + 1));
  if (typeof (value as { toJSON?: unknown }).toJSON === 'function') return value;
  return safeFields(value as Record<string, unknown>, depth + 1, {});
}

/** Copies `fields`' own enumerable values, made safe, into `into`. */
function safeFields(fields: Record<string, unknown>, depth: number, into: Record<string, unknown>): Record<string, unknown> {
  for (const key in fields) {
    if (!Object.hasOwn(fields, key)) continue;
    into[key] = SECRET_FIELDS.has(key) ? REDACTED : safe(fields[key], depth);
  }
  return into;
}

/** The stderr destination, one per process: sonic-boom writing each line with a synchronous write(2). */
let stderr: pino.DestinationStream | undefined;

const PINO_OPTIONS: pino.LoggerOptions = {
  timestamp: pino.stdTimeFunctions.isoTime,
  formatters: { level: (label) => ({ level: label }) },
  // Values arrive already made safe (errors as plain records): pino's own `err` serializer would
  // take such a record for an error and write it again with a `type`.
  serializers: { err: (value: unknown) => value },
};

/** A pino logger behind the project's Logger; nothing is built for a level that is off. */
class PinoLogger implements Logger {
  readonly #pino: pino.Logger;

  constructor(logger: pino.Logger) {
    this.#pino = logger;
  }

  debug(msg: string, fields?: Record<string, unknown>): void {
    if (this.#pino.isLevelEnabled('debug')) this.#pino.debug(line(msg, fields));
  }

  info(msg: string, fields?: Record<string, unknown>): void {
    if (this.#pino.isLevelEnabled('info')) this.#pino.info(line(msg, fields));
  }

  warn(msg: string, fields?: Record<string, unknown>): void {
    if (this.#pino.isLevelEnabled('warn')) this.#pino.warn(line(msg, fields));
  }

  error(msg: string, fields?: Record<string, unknown>): void {
    if (this.#pino.isLevelEnabled('error')) this.#pino.error(line(msg, fields));
  }

  child(fields: Record<string, unknown>): Logger {
    return new PinoLogger(this.#pino.child(safeFields(fields, 0, {})));
  }
}

/** The object pino writes after the bindings: `msg` first, then the call's fields, made safe. */
function line(msg: string, fields: Record<string, unknown> | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { msg };
  return fields === undefined ? out : safeFields(fields, 0, out);
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const { write } = options;
  const destination = write ? { write: (text: string) => write(text.slice(0, -1)) } : (stderr ??= pino.destination({ dest: 2, sync: true }));
  const base = options.fields ? safeFields(options.fields, 0, {}) : null;
  return new PinoLogger(pino({ ...PINO_OPTIONS, level: options.level ?? 'info', base }, destination));
}

/** A logger that discards everything (for tools that print their own output). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
};
