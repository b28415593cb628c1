import { z } from 'zod';

/**
 * Fields of the REST API's own: path and query parameters arrive as strings. Every name rule is in
 * lib/contracts/names.ts, shared with the internal-db and the file host.
 */

/** A positive integer in a path or query string. */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'a positive integer')
  .transform(Number);
/** A count in a query string (1 to 10000). */
export const limitParam = z
  .string()
  .regex(/^[1-9][0-9]{0,4}$/, 'an integer from 1 to 10000')
  .transform(Number)
  .pipe(z.int().max(10_000));
