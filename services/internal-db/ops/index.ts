import { z } from 'zod';
import type { Body, Handler, RequestContext } from '../../../lib/commlink/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import { schemaVersion } from '../db/open.js';
import { DbErrors } from '../errors.js';
import type { Store } from '../store/index.js';
import { auditOps } from './audit.js';
import { authCheck, tokenCheck } from './auth.js';
import { catalogueOps } from './catalogue.js';
import { customerOps, entitlementOps } from './customers.js';
import { defineOp, type Operation } from './define.js';

export interface OperationsOptions {
  store: Store;
  log: Logger;
  /** Writes an online backup; absent when backups are not configured. */
  backup?: (path: string | undefined) => Promise<Body>;
}

const adminOps = [
  defineOp('admin.backup', 'Writes an online backup of the database (to the backup directory, or to `path` inside it).', z.strictObject({ name: z.string().regex(/^[A-Za-z0-9._-]{1,128}$/).optional() }), (i, ctx) => {
    if (!ctx.backup) throw DbErrors.BACKUP_FAILED('backups are not configured on this host');
    return ctx.backup(i.name);
  }),
  defineOp('db.info', 'Schema version and row counts.', z.strictObject({}), (_i, { store }) => ({ schemaVersion: schemaVersion(store.db), ...store.counts() })),
];

/** Every operation the internal-db serves, by name. */
export const OPERATIONS: readonly Operation[] = [authCheck, tokenCheck, ...catalogueOps, ...customerOps, ...entitlementOps, ...auditOps, ...adminOps];

/** The commlink handlers: each operation bound to the store. */
export function makeHandlers(options: OperationsOptions): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  for (const op of OPERATIONS) {
    handlers.set(op.name, (body: Body, request: RequestContext) => op.run(body, { store: options.store, log: options.log, request, backup: options.backup }));
  }
  return handlers;
}
