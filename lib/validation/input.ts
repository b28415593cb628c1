import type { z } from 'zod';

export interface InputProblem {
  /** The field at fault, dotted (`items.0.filename`); several unknown fields are comma-separated (the first few). */
  readonly field: string;
  /** One line for the error message: `items.0.filename: Invalid input` or `unknown field colour`. */
  readonly what: string;
}

/** Unknown fields named at most in a message; the rest are counted (`and 12 more`). */
export const MAX_NAMES_SHOWN = 5;
/** Characters of a client-chosen name shown at most; a longer one is cut with `…`. */
export const MAX_NAME_CHARS = 64;

/** A name the client chose (a field, a parameter), as a message may show it: cut at MAX_NAME_CHARS. */
export function shownName(name: string): string {
  return name.length > MAX_NAME_CHARS ? `${name.slice(0, MAX_NAME_CHARS)}…` : name;
}

/**
 * The first problem of a failed zod parse, for an error message that names the field. An unknown
 * field is named first: it is the likeliest mistake (a typo) and hides nothing. The names come from
 * the client, so the message stays short whatever it sent: the first MAX_NAMES_SHOWN unknown
 * fields, each cut at MAX_NAME_CHARS, and how many more there are.
 */
export function firstProblem(error: z.ZodError): InputProblem {
  const issues = error.issues;
  const issue = (issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]) as z.core.$ZodIssue;
  const path = issue.path.map((p) => shownName(String(p))).join('.');
  if (issue.code === 'unrecognized_keys') {
    const shown = issue.keys.slice(0, MAX_NAMES_SHOWN).map(shownName).join(', ');
    const more = issue.keys.length > MAX_NAMES_SHOWN ? ` and ${issue.keys.length - MAX_NAMES_SHOWN} more` : '';
    return { field: `${shown}${more ? ', …' : ''}`, what: `unknown field${issue.keys.length > 1 ? 's' : ''} ${shown}${more}` };
  }
  return { field: path, what: `${path || 'body'}: ${issue.message}` };
}
