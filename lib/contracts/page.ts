import { z } from 'zod';
import { CommonErrors } from '../errors/index.js';

/**
 * Lists come in pages: a request takes `limit` (how many at most) and `cursor` (where the previous
 * page ended, as its reply's `next` said); a reply holds the items and `next`, null on the last
 * page. A cursor is opaque to the asker: the lister encodes the key of the last item it sent.
 */

/** How many items a page holds unless the asker says otherwise, and at most. */
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 500;

export const cursor = z.string().regex(/^[A-Za-z0-9_-]{1,1024}$/, "a cursor: the previous page's next");
export const limit = z.int().min(1).max(MAX_PAGE);

/** The request fields of a listing: `{ limit, cursor }`. */
export const pageRequest = {
  limit: limit.default(DEFAULT_PAGE).describe(`How many at most (1-${MAX_PAGE}).`),
  cursor: cursor.optional().describe('Where the previous page ended (its `next`); absent: the first page.'),
};

/** The reply of a listing: the items under `key`, and where the next page starts (null: none). */
export function pageReply<K extends string, T extends z.ZodType>(key: K, item: T) {
  return z.strictObject({ [key]: z.array(item), next: cursor.nullable().describe('The cursor of the next page; null on the last.') } as {
    [P in K]: z.ZodArray<T>;
  } & { next: z.ZodNullable<typeof cursor> });
}

/** A cursor for the key of the last item sent (strings and numbers, in order). */
export function encodeCursor(key: readonly (string | number)[]): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

/** The key a cursor holds, checked against the kinds this list's key has; ERR_INVALID_INPUT (field `cursor`) otherwise. */
export function decodeCursor<const K extends readonly ('string' | 'number')[]>(
  value: string,
  kinds: K,
): { [I in keyof K]: K[I] extends 'string' ? string : number } {
  let key: unknown;
  try {
    key = JSON.parse(Buffer.from(value, 'base64url').toString('utf8'));
  } catch {
    key = undefined;
  }
  const ok =
    Array.isArray(key) &&
    key.length === kinds.length &&
    key.every((part, i) => typeof part === kinds[i] && (typeof part !== 'number' || Number.isSafeInteger(part)));
  if (!ok) throw CommonErrors.INVALID_INPUT("cursor: not a cursor of this list (give the previous page's next as it came)", { field: 'cursor' });
  return key as { [I in keyof K]: K[I] extends 'string' ? string : number };
}

/**
 * A page of `rows` (fetched with one more than `limit`, so that a next page is known to exist) and
 * its `next`, made from the key of the page's last row.
 */
export function pageOf<T>(rows: readonly T[], limit: number, keyOf: (row: T) => readonly (string | number)[]): { items: T[]; next: string | null } {
  if (rows.length <= limit) return { items: [...rows], next: null };
  const items = rows.slice(0, limit);
  return { items, next: encodeCursor(keyOf(items[items.length - 1] as T)) };
}

/**
 * A page of a list computed whole (ordered by what no column holds, such as semver): the cursor is
 * the offset the page starts at. One rule for the lister (the internal-db's release.resolve) and for
 * a copy of the whole list kept elsewhere (the web host's entitlement cache).
 */
export function offsetPage<T>(all: readonly T[], page: { limit: number; cursor?: string | undefined }): { items: T[]; next: string | null } {
  const [offset] = page.cursor === undefined ? [0] : decodeCursor(page.cursor, ['number']);
  return pageOf(all.slice(offset), page.limit, () => [offset + page.limit]);
}

/** Every item of a listing, page after page (for callers that need the whole list, such as a staging). */
export async function everyPage<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: readonly T[]; next: string | null }>): Promise<T[]> {
  const all: T[] = [];
  let next: string | undefined;
  do {
    const page = await fetchPage(next);
    all.push(...page.items);
    next = page.next ?? undefined;
  } while (next !== undefined);
  return all;
}
