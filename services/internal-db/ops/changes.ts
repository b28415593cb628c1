import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { defineOp } from './define.js';

/** The change feed: followed by subscribers (changes.next, a long wait), read by people (changes.list). */
export const changeOps = [
  defineOp(InternalDb.changesNext, async (i, { store }) => {
    const first = store.changes.next(i.after, i.limit);
    if (first.changes.length > 0 || first.reset || i.waitMs === 0) return first;
    await store.changes.wait(i.after, i.waitMs);
    return store.changes.next(i.after, i.limit);
  }),
  defineOp(InternalDb.changesList, (i, { store }) => {
    const { items, next } = store.changes.list(i, i);
    return { changes: items, next };
  }),
];
