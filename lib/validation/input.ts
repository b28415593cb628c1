import type { z } from 'zod';

export interface InputProblem {
  /** The field at fault, dotted (`items.0.filename`); several unknown fields are comma-separated. */
  readonly field: string;
  /** One line for the error message: `items.0.filename: Invalid input` or `unknown field colour`. */
  readonly what: string;
}

/**
 * The first problem of a failed zod parse, for an error message that names the field. An unknown
 * field is named first: it is the likeliest mistake (a typo) and hides nothing.
 */
export function firstProblem(error: z.ZodError): InputProblem {
  const issues = error.issues;
  const issue = (issues.find((i) => i.code === 'unrecognized_keys') ?? issues[0]) as z.core.$ZodIssue;
  const path = issue.path.join('.');
  if (issue.code === 'unrecognized_keys') {
    return { field: issue.keys.join(', '), what: `unknown field${issue.keys.length > 1 ? 's' : ''} ${issue.keys.join(', ')}` };
  }
  return { field: path, what: `${path || 'body'}: ${issue.message}` };
}
