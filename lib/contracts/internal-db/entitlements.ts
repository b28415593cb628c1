import { actorField } from './changes.js';
import { z } from 'zod';
import { defineOperation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { channel, hostName, id, isoTime, label, login, productCode, version } from '../names.js';
import { entitlement, resolvedArtifact, storedName } from './shapes.js';

export const entitlementGrant = defineOperation({
  name: 'entitlement.grant',
  summary: 'Grants a customer a product: a semver range, from a start (default now) until an optional expiry, with what expiry means.',
  request: z.strictObject({
    ...actorField,
    customer: login,
    product: productCode,
    range: z.string().min(1).max(256).default('*'),
    startsAt: isoTime.optional(),
    expiresAt: isoTime.optional(),
    onExpiry: z.enum(['keep', 'revoke']).default('keep'),
  }),
  reply: entitlement.omit({ status: true }),
});

export const entitlementRevoke = defineOperation({
  name: 'entitlement.revoke',
  summary: "Revokes an entitlement: it grants nothing from now on. With `customer`, only that customer's (else ERR_NOT_FOUND).",
  request: z.strictObject({ ...actorField, id, customer: login.optional() }),
  reply: z.strictObject({ id, revoked: z.literal(true) }),
});

export const entitlementsList = defineOperation({
  name: 'entitlements.list',
  summary: "A customer's entitlements with their status now, oldest first, a page at a time.",
  request: z.strictObject({ customer: login, ...pageRequest }),
  reply: pageReply('entitlements', entitlement),
});

export const releaseResolve = defineOperation({
  name: 'release.resolve',
  summary:
    'The artifacts a customer may download now, by product and newest release first, optionally narrowed by product, version, platform, arch ' +
    'and channel, a page at a time (a page boundary may shift if releases change between pages).',
  request: z.strictObject({
    customer: login,
    product: productCode.optional(),
    version: version.optional(),
    platform: label.optional(),
    arch: label.optional(),
    channel: channel.optional(),
    ...pageRequest,
  }),
  reply: pageReply('artifacts', resolvedArtifact),
});

const staging = z.strictObject({ customer: login, product: productCode, version, host: hostName });

export const stagingRecord = defineOperation({
  name: 'staging.record',
  summary: 'Records that a release is staged for a customer on a file host.',
  request: staging,
  reply: z.strictObject({ host: z.string(), stagedAt: isoTime }),
});

export const stagingRemove = defineOperation({
  name: 'staging.remove',
  summary: 'Forgets a staging.',
  request: staging,
  reply: z.strictObject({ removed: z.literal(true) }),
});

export const stagingList = defineOperation({
  name: 'staging.list',
  summary: "A customer's stagings, in the order they were first made, a page at a time.",
  request: z.strictObject({ customer: login, ...pageRequest }),
  reply: pageReply('stagings', z.strictObject({ product: storedName, version: storedName, host: z.string(), stagedAt: isoTime })),
});

export const stagingCustomers = defineOperation({
  name: 'staging.customers',
  summary: 'The customers who have a product (or one release of it) staged on some file host, by login, a page at a time.',
  request: z.strictObject({ product: productCode, version: version.optional(), ...pageRequest }),
  reply: pageReply('customers', storedName),
});
