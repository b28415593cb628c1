import type { adminBackup } from '../../../lib/contracts/internal-db/admin.js';
import type { Operation as Contract, ReplyIn, RequestOut } from '../../../lib/contracts/operation.js';
import { implement, type Implementation } from '../../../lib/contracts/serve.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { Store } from '../store/index.js';

/** Where an operation runs: the store, the service's logger, and the backup writer. */
export interface OpContext {
  store: Store;
  log: Logger;
  backup?: (name: string | undefined) => Promise<ReplyIn<typeof adminBackup>>;
}

/** An internal-db operation: its contract (lib/contracts/internal-db) bound to the store. */
export type Operation = Implementation<OpContext>;

/**
 * Implements an operation of the contract: the body is parsed against the contract's request (a
 * strict zod object, so an unknown field is refused), and a bad field is answered ERR_INVALID_INPUT
 * naming it. Nothing is read or written before the input is valid.
 */
export function defineOp<O extends Contract>(contract: O, run: (input: RequestOut<O>, ctx: OpContext) => ReplyIn<O> | Promise<ReplyIn<O>>): Operation {
  return implement(contract, run);
}
