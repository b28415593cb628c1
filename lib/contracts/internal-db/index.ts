import type { Operation } from '../operation.js';
import { adminBackup, dbInfo } from './admin.js';
import { auditQuery, auditRecord, auditRecordCompact } from './audit.js';
import { authCheck, authKeyCheck, tokenCheck } from './auth.js';
import { changesList, changesNext } from './changes.js';
import {
  artifactAdd,
  productCreate,
  productList,
  productSetEula,
  releaseCreate,
  releaseList,
  releasePublish,
  releaseYank,
  vendorCreate,
  vendorList,
  vendorSetDisabled,
} from './catalogue.js';
import {
  customerCreate,
  customerGet,
  customerList,
  customerSetDisabled,
  customerSetPassword,
  sshKeyAdd,
  sshKeyRemove,
  tokenCreate,
  tokenList,
  tokenRevoke,
} from './customers.js';
import {
  entitlementGrant,
  entitlementRevoke,
  entitlementsList,
  releaseResolve,
  stagingCustomers,
  stagingList,
  stagingRecord,
  stagingRemove,
} from './entitlements.js';
import { eulaAccept, eulaCreate, eulaGet, eulaList } from './eulas.js';
import { sessionCheck, sessionEnd } from './sessions.js';
import {
  webhookCreate,
  webhookDelete,
  webhookDeliveries,
  webhookEnable,
  webhookGet,
  webhookLease,
  webhookList,
  webhookPending,
  webhookPrune,
  webhookRelease,
  webhookReport,
} from './webhooks.js';

/**
 * The internal-db's operations: the API of the internal host. Every query is one of these, asked by
 * name over the commlink; no SQL crosses the wire. Import this module as a namespace
 * (`import * as InternalDb from …`) and ask `InternalDb.authCheck`.
 */
export * from './admin.js';
export * from './audit.js';
export * from './auth.js';
export * from './catalogue.js';
export * from './changes.js';
export * from './customers.js';
export * from './entitlements.js';
export * from './eulas.js';
export * from './sessions.js';
export { InternalDbErrors } from './errors.js';
export * from './shapes.js';
export * from './webhooks.js';

/** Every operation, in the order OPERATIONS.md lists them. */
export const INTERNAL_DB_OPERATIONS: readonly Operation[] = [
  authCheck,
  authKeyCheck,
  tokenCheck,
  vendorCreate,
  vendorList,
  vendorSetDisabled,
  productCreate,
  productList,
  productSetEula,
  releaseCreate,
  releaseList,
  artifactAdd,
  releasePublish,
  releaseYank,
  customerCreate,
  customerGet,
  customerList,
  customerSetPassword,
  customerSetDisabled,
  sessionCheck,
  sessionEnd,
  sshKeyAdd,
  sshKeyRemove,
  tokenCreate,
  tokenRevoke,
  tokenList,
  entitlementGrant,
  entitlementRevoke,
  entitlementsList,
  releaseResolve,
  eulaCreate,
  eulaGet,
  eulaList,
  eulaAccept,
  stagingRecord,
  stagingRemove,
  stagingList,
  stagingCustomers,
  auditRecord,
  auditRecordCompact,
  auditQuery,
  changesNext,
  changesList,
  webhookCreate,
  webhookList,
  webhookGet,
  webhookDelete,
  webhookEnable,
  webhookDeliveries,
  webhookLease,
  webhookRelease,
  webhookPending,
  webhookReport,
  webhookPrune,
  adminBackup,
  dbInfo,
];
