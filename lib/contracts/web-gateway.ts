import { z } from 'zod';
import * as InternalDb from './internal-db/index.js';
import { defineOperation, type Operation } from './operation.js';
import { ftpBaseUrl, hostName, httpBaseUrl, isoTime, sftpBaseUrl } from './names.js';

/**
 * What a web host serves to the file hosts that dial it: their registration, and the internal-db
 * operations it forwards for them (the only path from a file host to the internal-db).
 */

export const fileHostRegister = defineOperation({
  name: 'filehost.register',
  summary:
    'A file host announces itself (sent each time its link comes up): its name, unique among the file hosts of this web host, and where customers reach it.',
  request: z.strictObject({ name: hostName, httpUrl: httpBaseUrl, ftpUrl: ftpBaseUrl.optional(), sftpUrl: sftpBaseUrl.optional() }),
  reply: z.strictObject({ registered: hostName, at: isoTime }),
});

/**
 * The internal-db operations a file host may ask for, through its web host. Anything else
 * (creating customers, granting entitlements …) is not forwarded: a compromised file host can check
 * logins, read what a customer may have, report transfers and follow the change feed (what changed, not who changed it: the gateway strips
 * the actor's id and address), no more.
 */
export const FORWARDED_OPERATIONS: readonly Operation[] = [
  InternalDb.authCheck,
  InternalDb.authKeyCheck,
  InternalDb.releaseResolve,
  InternalDb.entitlementsList,
  InternalDb.auditRecord,
  InternalDb.auditRecordCompact,
  InternalDb.changesNext,
];

/** Every operation a web host serves to file hosts. */
export const WEB_GATEWAY_OPERATIONS: readonly Operation[] = [fileHostRegister, ...FORWARDED_OPERATIONS];
