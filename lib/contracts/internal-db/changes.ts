import { z } from 'zod';
import { id, isoTime, protocol } from '../names.js';
import { defineOperation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { storedName } from './shapes.js';

/**
 * The change feed: every change to a fact of the internal-db is recorded in its change log, in the
 * same transaction as the change, under a monotonic sequence number. Subscribers (web hosts, and
 * through them file hosts) follow it with `changes.next`; people read it with `changes.list`.
 */

/** What changed. Time-based kinds (`entitlement.starting`, `.expiring`, `.expired`) are recorded when their time comes. */
export const CHANGE_KINDS = [
  'customer.created',
  'customer.disabled',
  'customer.enabled',
  'customer.password_changed',
  'customer.signed_out',
  'vendor.created',
  'vendor.disabled',
  'vendor.enabled',
  'product.created',
  'token.created',
  'token.revoked',
  'sshkey.added',
  'sshkey.removed',
  'entitlement.granted',
  'entitlement.revoked',
  'entitlement.starting',
  'entitlement.expiring',
  'entitlement.expired',
  'release.created',
  'artifact.added',
  'release.published',
  'release.yanked',
  'eula.created',
  'eula.set',
  'eula.accepted',
  'download.completed',
] as const;
export const changeKind = z.enum(CHANGE_KINDS);
export type ChangeKind = z.output<typeof changeKind>;

/** Who made a change: an API token (its id), an admin (the admin CLI: the OS user), a customer in the portal, or the system (time, a migration). */
export const changeActor = z.strictObject({
  kind: z.enum(['token', 'admin', 'customer', 'system']),
  /** The token's id, the admin's name, the customer's login; absent for the system. */
  id: z.string().min(1).max(128).optional(),
  /** Where the request came from (the client's address as the web host saw it, or `cli`). */
  address: z.string().min(1).max(64).optional(),
});
export type ChangeActor = z.input<typeof changeActor>;

/**
 * The optional request field of every operation that changes something: who asks (recorded with
 * the change). Absent: the system.
 */
export const actorField = { by: changeActor.optional().describe('Who makes the change (recorded in the change log); absent: the system.') };

/** One entry of the change log. The subject fields present depend on the kind. */
export const change = z.strictObject({
  seq: id,
  kind: changeKind,
  at: isoTime,
  /** The customer concerned (customer.*, token of a customer, sshkey.*, entitlement.*, eula.accepted). */
  customer: storedName.optional(),
  /** The vendor concerned (vendor.*, product.created, a vendor's token; release and artifact kinds name the product's vendor). */
  vendor: storedName.optional(),
  product: storedName.optional(),
  version: storedName.optional(),
  filename: storedName.optional(),
  entitlementId: id.optional(),
  tokenId: id.optional(),
  eulaId: id.optional(),
  fingerprint: z.string().optional(),
  /** download.completed: over which protocol, and how many bytes. */
  protocol: protocol.optional(),
  bytes: z.int().min(0).optional(),
  actor: changeActor,
});
export type Change = z.output<typeof change>;

/** The longest a `changes.next` may wait for a change (shorter than any request timeout). */
export const MAX_CHANGE_WAIT_MS = 25_000;

export const changesNext = defineOperation({
  name: 'changes.next',
  summary:
    'Follows the change log: the changes after sequence `after`, oldest first, at most `limit`; when there are none yet, waits up to `waitMs` for one ' +
    '(a subscriber keeps one of these in flight, and asks again from the last `seq` it got). `reset` is true when changes after `after` are no ' +
    'longer kept (or `after` is beyond the log): the subscriber drops everything it cached and goes on from `head`.',
  request: z.strictObject({
    after: z.int().min(0).describe('The last sequence the subscriber has seen (0: from the oldest kept).'),
    limit: z.int().min(1).max(1000).default(500).describe('How many changes at most (1-1000).'),
    waitMs: z.int().min(0).max(MAX_CHANGE_WAIT_MS).default(0).describe(`How long to wait for a change when there is none (0-${MAX_CHANGE_WAIT_MS} ms).`),
  }),
  reply: z.strictObject({
    changes: z.array(change),
    /** The newest sequence in the log now (0: none yet). */
    head: z.int().min(0),
    reset: z.boolean(),
  }),
});

export const changesList = defineOperation({
  name: 'changes.list',
  summary:
    'The change log for people (admin audit): newest first, a page at a time, optionally only of one vendor (its products, releases, tokens and ' +
    'the entitlements to its products), one customer, or one kind.',
  request: z.strictObject({
    ...pageRequest,
    vendor: storedName.optional(),
    customer: storedName.optional(),
    kind: changeKind.optional(),
  }),
  reply: pageReply('changes', change),
});
