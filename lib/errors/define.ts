import { CodedError } from './coded-error.js';

/** A catalogue entry: a stable code, a one-line description, and a constructor. */
export interface ErrorDefinition<C extends string = string> {
  readonly code: C;
  readonly description: string;
  (message: string, details?: Record<string, unknown>, cause?: unknown): CodedError;
}

/** A catalogue: entries by name (`NOT_FOUND: defineError('ERR_NOT_FOUND', …)`). */
export type ErrorCatalogue = Readonly<Record<string, ErrorDefinition>>;

/** The union of a catalogue's codes, for tables that must give every code an answer. */
export type CodeOf<T extends ErrorCatalogue> = T[keyof T]['code'];

/** Defines one error of a catalogue. Each code is defined once in the whole project. */
export function defineError<const C extends string>(code: C, description: string): ErrorDefinition<C> {
  const make = (message: string, details?: Record<string, unknown>, cause?: unknown) => new CodedError(code, message, details, cause);
  return Object.assign(make, { code, description });
}

/** True when `err` is a catalogued error with the entry's code. */
export function isError(err: unknown, def: ErrorDefinition): err is CodedError {
  return err instanceof CodedError && err.code === def.code;
}

/** The stable code of a catalogued error, or undefined for anything else. */
export function codeOf(err: unknown): string | undefined {
  return err instanceof CodedError ? err.code : undefined;
}

/** The codes of catalogues, in order, each once (an entry shared by several catalogues counts once). */
export function codesOf(...catalogues: ErrorCatalogue[]): string[] {
  return [...new Set(catalogues.flatMap((c) => Object.values(c).map((e) => e.code)))];
}
