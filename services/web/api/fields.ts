import { z } from 'zod';
import { cursor, limit } from '../../../lib/contracts/page.js';

/**
 * Fields of the REST API's own: path and query parameters arrive as strings. Every name rule is in
 * lib/contracts/names.ts, shared with the internal-db and the file host.
 */

/** A positive integer in a path or query string. */
export const idParam = z
  .string()
  .regex(/^[1-9][0-9]{0,15}$/, 'a positive integer')
  .transform(Number);

/** The query parameters of a listing: `?limit=` (1-500, default 100) and `?cursor=` (the previous page's `next`). */
export const pageQuery = {
  limit: z
    .string()
    .regex(/^[1-9][0-9]{0,3}$/, 'an integer from 1 to 500')
    .transform(Number)
    .pipe(limit)
    .optional(),
  cursor: cursor.optional(),
};
