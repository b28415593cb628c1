import { z } from 'zod';
import { id, isoTime, text } from '../names.js';
import { defineOperation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { actorField, change } from './changes.js';
import { storedName } from './shapes.js';

/**
 * Webhooks: endpoints that vendors, customers and admins register, to which web hosts deliver the
 * change log's events (services/web/webhooks, services/web/WEBHOOKS.md). The internal-db keeps the
 * endpoints (web hosts are stateless), each one's cursor (the last sequence delivered), a lease
 * (which web host delivers to it now) and the log of delivery attempts.
 */

/** The change kinds an endpoint may subscribe to (a subset of CHANGE_KINDS). */
export const WEBHOOK_EVENTS = [
  'release.published',
  'release.yanked',
  'entitlement.granted',
  'entitlement.revoked',
  'entitlement.expiring',
  'download.completed',
] as const;
export const webhookEvent = z.enum(WEBHOOK_EVENTS);
export type WebhookEvent = z.output<typeof webhookEvent>;

/** How many endpoints one vendor or customer may have (an admin's are not counted). */
export const MAX_WEBHOOKS_PER_OWNER = 20;

/** The longest endpoint URL accepted. */
export const MAX_WEBHOOK_URL = 2048;

/** Why a URL is not a webhook target (syntax only: addresses are checked by the web host), or undefined. */
export function webhookUrlProblem(value: string): string | undefined {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'not an absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'the scheme must be https (or http where allowed)';
  if (url.username !== '' || url.password !== '') return 'a URL must not carry credentials';
  if (url.hash !== '') return 'a URL must not have a #fragment';
  if (url.hostname === '') return 'the URL has no host';
  return undefined;
}

export const webhookUrl = z
  .string()
  .min(1)
  .max(MAX_WEBHOOK_URL)
  .superRefine((value, ctx) => {
    const problem = webhookUrlProblem(value);
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  })
  .describe(`An http(s) URL of at most ${MAX_WEBHOOK_URL} characters, without credentials or fragment.`);

/** Whose an endpoint is: an admin's (sees every event), a vendor's (its products) or a customer's (its entitlements and downloads). */
export const webhookOwnerKind = z.enum(['admin', 'vendor', 'customer']);

const events = z
  .array(webhookEvent)
  .min(1)
  .max(WEBHOOK_EVENTS.length)
  .refine((list) => new Set(list).size === list.length, 'each event kind once');

/** A registered endpoint (never with its secret, but at registration). */
export const webhookEndpoint = z.strictObject({
  id,
  ownerKind: webhookOwnerKind,
  /** The vendor's name or the customer's login; null for an admin's endpoint. */
  owner: storedName.nullable(),
  url: z.string(),
  events: z.array(webhookEvent),
  enabled: z.boolean(),
  /** Why it was disabled (it failed for too long: its last status or error); null while enabled. */
  disabledReason: z.string().nullable(),
  disabledAt: isoTime.nullable(),
  /** Since when deliveries to it fail (null: the last one succeeded). */
  failingSince: isoTime.nullable(),
  /** The last change sequence delivered (or passed over as not matching): deliveries resume after it. */
  cursor: z.int().min(0),
  createdAt: isoTime,
});
export type WebhookEndpoint = z.output<typeof webhookEndpoint>;

/** An endpoint as its lease holder gets it: with its secret. */
export const leasedWebhook = z.strictObject({
  id,
  ownerKind: webhookOwnerKind,
  owner: storedName.nullable(),
  url: z.string(),
  events: z.array(webhookEvent),
  secret: z.string(),
  cursor: z.int().min(0),
  failingSince: isoTime.nullable(),
});
export type LeasedWebhook = z.output<typeof leasedWebhook>;

/** One attempt to deliver one event (the delivery log). */
export const webhookDelivery = z.strictObject({
  seq: id,
  event: webhookEvent,
  at: isoTime,
  /** The attempt's number for this sequence (1: the first). */
  attempt: z.int().min(1),
  outcome: z.enum(['delivered', 'failed']),
  /** The HTTP status the endpoint answered; null when there was no answer (refused, timed out, unreachable). */
  status: z.int().min(100).max(599).nullable(),
  error: z.string().nullable(),
  durationMs: z.int().min(0),
});

/** Which web host asks: a name unique among running web hosts (it holds leases). */
const holder = z.string().regex(/^[A-Za-z0-9._:-]{1,128}$/, 'a holder name: 1-128 of A-Z a-z 0-9 . _ : -');

export const webhookCreate = defineOperation({
  name: 'webhook.create',
  summary:
    'Registers a webhook endpoint for an admin, a vendor or a customer, for some event kinds; it gets the events recorded from now on. ' +
    `The reply holds the signing secret, the only time it is shown. A vendor or customer has at most ${MAX_WEBHOOKS_PER_OWNER} (ERR_CONFLICT beyond).`,
  request: z.strictObject({
    ...actorField,
    ownerKind: webhookOwnerKind,
    owner: text(128).optional().describe("The vendor's name or the customer's login (absent for an admin's endpoint)."),
    url: webhookUrl,
    events,
  }),
  reply: webhookEndpoint.extend({ secret: z.string().describe('The HMAC-SHA-256 key of X-FFS-Signature (shown once).') }),
});

export const webhookList = defineOperation({
  name: 'webhook.list',
  summary: 'Lists webhook endpoints by id, a page at a time, optionally of one owner.',
  request: z.strictObject({ ...pageRequest, ownerKind: webhookOwnerKind.optional(), owner: storedName.optional() }),
  reply: pageReply('webhooks', webhookEndpoint),
});

export const webhookGet = defineOperation({
  name: 'webhook.get',
  summary: 'One webhook endpoint (without its secret).',
  request: z.strictObject({ id }),
  reply: webhookEndpoint,
});

export const webhookDelete = defineOperation({
  name: 'webhook.delete',
  summary: 'Removes a webhook endpoint and its delivery log; nothing more is delivered to it.',
  request: z.strictObject({ ...actorField, id }),
  reply: z.strictObject({ id, deleted: z.literal(true) }),
});

export const webhookEnable = defineOperation({
  name: 'webhook.enable',
  summary: 'Enables a disabled endpoint again: deliveries resume after its cursor, and its failure clock starts afresh.',
  request: z.strictObject({ ...actorField, id }),
  reply: webhookEndpoint,
});

export const webhookDeliveries = defineOperation({
  name: 'webhook.deliveries',
  summary: "An endpoint's delivery log (every attempt), newest first, a page at a time.",
  request: z.strictObject({ ...pageRequest, id }),
  reply: pageReply('deliveries', webhookDelivery),
});

export const webhookLease = defineOperation({
  name: 'webhook.lease',
  summary:
    'Grants (or renews) a web host the right to deliver to enabled endpoints for `ttlMs`: those it holds already, and those whose lease ' +
    'is free or has expired (a dead holder). One holder per endpoint at a time; the reply lists what it holds now, with secrets and cursors.',
  request: z.strictObject({
    holder,
    ttlMs: z.int().min(1000).max(600_000),
    limit: z.int().min(1).max(10_000).default(1000).describe('How many endpoints this holder may hold at most.'),
  }),
  reply: z.strictObject({ webhooks: z.array(leasedWebhook) }),
});

export const webhookRelease = defineOperation({
  name: 'webhook.release',
  summary: "Gives up a holder's leases (a web host closing), so that another takes them over at once.",
  request: z.strictObject({ holder }),
  reply: z.strictObject({ released: z.int().min(0) }),
});

export const webhookPending = defineOperation({
  name: 'webhook.pending',
  summary:
    "The changes after an endpoint's cursor that it is to receive, oldest first: of its event kinds and visible to its owner. `scannedTo` " +
    'is the newest sequence looked at (the cursor may advance to it when nothing matched). Only for the holder of its lease.',
  request: z.strictObject({ holder, id, limit: z.int().min(1).max(500).default(100) }),
  reply: z.strictObject({ changes: z.array(change), scannedTo: z.int().min(0) }),
});

export const webhookReport = defineOperation({
  name: 'webhook.report',
  summary:
    'Reports what a delivery attempt did, by the holder of the lease: `delivered` (a 2xx: logged, the cursor advances to `seq`), `failed` ' +
    '(logged; when the endpoint has failed for `giveUpMs` it is disabled, with the last status or error as the reason), or `skipped` ' +
    '(nothing to deliver up to `seq`: the cursor advances, nothing is logged).',
  request: z.strictObject({
    holder,
    id,
    seq: z.int().min(0),
    outcome: z.enum(['delivered', 'failed', 'skipped']),
    event: webhookEvent.optional(),
    attempt: z.int().min(1).default(1),
    status: z.int().min(100).max(599).nullable().default(null),
    error: z.string().max(512).nullable().default(null),
    durationMs: z.int().min(0).default(0),
    giveUpMs: z.int().min(0).optional().describe('failed: disable the endpoint once it has been failing this long.'),
  }),
  reply: z.strictObject({ cursor: z.int().min(0), enabled: z.boolean(), failingSince: isoTime.nullable() }),
});

export const webhookPrune = defineOperation({
  name: 'webhook.prune',
  summary: 'Deletes delivery log entries older than `keepMs`.',
  request: z.strictObject({ keepMs: z.int().min(0) }),
  reply: z.strictObject({ deleted: z.int().min(0) }),
});
