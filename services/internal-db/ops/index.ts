import type { Handler } from '../../../lib/commlink/index.js';
import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { handlersOf } from '../../../lib/contracts/serve.js';
import type { Logger } from '../../../lib/log/logger.js';
import { schemaVersion } from '../db/open.js';
import type { Store } from '../store/index.js';
import { auditOps } from './audit.js';
import { authCheck, authKeyCheck, sessionCheck, sessionEnd, tokenCheck } from './auth.js';
import { catalogueOps } from './catalogue.js';
import { changeOps } from './changes.js';
import { customerOps, entitlementOps } from './customers.js';
import { defineOp, type OpContext, type Operation } from './define.js';
import { webhookOps } from './webhooks.js';

export interface OperationsOptions {
  store: Store;
  log: Logger;
  /** Writes an online backup; absent when backups are not configured. */
  backup?: OpContext['backup'];
}

const adminOps = [
  defineOp(InternalDb.adminBackup, (i, ctx) => {
    if (!ctx.backup) throw InternalDb.InternalDbErrors.BACKUP_FAILED('backups are not configured on this host');
    return ctx.backup(i.name);
  }),
  defineOp(InternalDb.dbInfo, (_i, { store }) => ({ schemaVersion: schemaVersion(store.db), ...store.counts() })),
];

/** Every operation the internal-db serves: each contract of lib/contracts/internal-db, implemented. */
export const OPERATIONS: readonly Operation[] = [
  authCheck,
  authKeyCheck,
  tokenCheck,
  ...catalogueOps,
  ...customerOps.slice(0, 5),
  sessionCheck,
  sessionEnd,
  ...customerOps.slice(5),
  ...entitlementOps,
  ...auditOps,
  ...changeOps,
  ...webhookOps,
  ...adminOps,
];

/** The commlink handlers: each operation bound to the store. */
export function makeHandlers(options: OperationsOptions): Map<string, Handler> {
  return handlersOf(OPERATIONS, { store: options.store, log: options.log, backup: options.backup });
}
