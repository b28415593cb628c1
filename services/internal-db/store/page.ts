import { decodeCursor, pageOf } from '../../../lib/contracts/page.js';

/** A page asked of a store: at most `limit` items after `cursor` (the previous page's next). */
export interface PageQuery {
  limit: number;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  next: string | null;
}

/** The key after which a page starts: the decoded cursor, or undefined for the first page. */
export function after<const K extends readonly ('string' | 'number')[]>(page: PageQuery, kinds: K) {
  return page.cursor === undefined ? undefined : decodeCursor(page.cursor, kinds);
}

export { pageOf };
