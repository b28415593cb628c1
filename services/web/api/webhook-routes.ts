import { z } from 'zod';
import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { actorOf } from '../auth/actor.js';
import type { Principal } from '../auth/principal.js';
import { WebErrors } from '../errors.js';
import { checkTarget, TargetRefused } from '../webhooks/target.js';
import { created, ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { idParam, pageQuery } from './fields.js';

const idParams = z.strictObject({ id: idParam });
const anyone = ['customer', 'vendor', 'admin'] as const;

/** Whose endpoints a principal registers and sees: an admin's are the admin endpoints (and it sees every one). */
function ownerOf(principal: Principal): { ownerKind: 'admin' | 'vendor' | 'customer'; owner?: string } {
  if (principal.kind === 'vendor') return { ownerKind: 'vendor', owner: principal.vendor };
  if (principal.kind === 'customer') return { ownerKind: 'customer', owner: principal.customer };
  return { ownerKind: 'admin' };
}

/**
 * Webhook endpoints: a vendor, a customer or an admin registers its own, and reads and changes
 * only its own (another's answers 404, as if it did not exist); an admin sees every one.
 * Deliveries are documented in services/web/WEBHOOKS.md.
 */
export function webhookRoutes(deps: ApiDeps): ApiRoute[] {
  const { db } = deps;

  /** The endpoint, when the principal may see it; 404 otherwise. */
  async function own(principal: Principal, id: number): Promise<InternalDb.WebhookEndpoint> {
    const endpoint = await db.ask(InternalDb.webhookGet, { id });
    const { ownerKind, owner } = ownerOf(principal);
    if (principal.kind !== 'admin' && (endpoint.ownerKind !== ownerKind || endpoint.owner !== owner))
      throw WebErrors.NOT_FOUND(`no webhook ${id}`, { field: 'id' });
    return endpoint;
  }

  return [
    route({
      method: 'post',
      path: '/webhooks',
      summary:
        'Registers a webhook endpoint of yours for some event kinds; it receives the events recorded from now on (see WEBHOOKS.md). ' +
        'The answer holds the signing secret: the only time it is shown. Targets in private, loopback or link-local ranges are refused unless configured.',
      tag: 'webhooks',
      roles: anyone,
      body: z.strictObject({ url: InternalDb.webhookUrl, events: InternalDb.webhookCreate.request.shape.events }),
      responses: { 201: { description: 'Registered (with its secret).', body: InternalDb.webhookCreate.reply } },
      handler: async ({ principal, body, ctx }) => {
        try {
          await checkTarget(body.url, deps.webhooks);
        } catch (err) {
          if (err instanceof TargetRefused) throw WebErrors.INVALID_INPUT(`body.url: ${err.message}`, { field: 'body.url' });
          throw err;
        }
        return created(await db.ask(InternalDb.webhookCreate, { ...ownerOf(principal), ...body, by: actorOf(principal, ctx) }));
      },
    }),
    route({
      method: 'get',
      path: '/webhooks',
      summary: 'Your webhook endpoints (every one for an admin), without their secrets.',
      tag: 'webhooks',
      roles: anyone,
      query: z.strictObject(pageQuery),
      responses: { 200: { description: 'The endpoints.', body: InternalDb.webhookList.reply } },
      handler: async ({ principal, query }) => {
        const filter = principal.kind === 'admin' ? {} : ownerOf(principal);
        return ok(await db.ask(InternalDb.webhookList, { ...query, ...filter }));
      },
    }),
    route({
      method: 'get',
      path: '/webhooks/:id',
      summary: 'One of your webhook endpoints: enabled or why it was disabled, failing since when, its cursor.',
      tag: 'webhooks',
      roles: anyone,
      params: idParams,
      responses: { 200: { description: 'The endpoint.', body: InternalDb.webhookGet.reply } },
      handler: async ({ principal, params }) => ok(await own(principal, params.id)),
    }),
    route({
      method: 'delete',
      path: '/webhooks/:id',
      summary: 'Removes one of your webhook endpoints and its delivery log.',
      tag: 'webhooks',
      roles: anyone,
      params: idParams,
      responses: { 200: { description: 'Removed.', body: InternalDb.webhookDelete.reply } },
      handler: async ({ principal, params, ctx }) => {
        await own(principal, params.id);
        return ok(await db.ask(InternalDb.webhookDelete, { id: params.id, by: actorOf(principal, ctx) }));
      },
    }),
    route({
      method: 'get',
      path: '/webhooks/:id/deliveries',
      summary: 'The delivery log of one of your endpoints: every attempt (sequence, event, time, attempt number, status, error), newest first.',
      tag: 'webhooks',
      roles: anyone,
      params: idParams,
      query: z.strictObject(pageQuery),
      responses: { 200: { description: 'The attempts.', body: InternalDb.webhookDeliveries.reply } },
      handler: async ({ principal, params, query }) => {
        await own(principal, params.id);
        return ok(await db.ask(InternalDb.webhookDeliveries, { id: params.id, ...query }));
      },
    }),
    route({
      method: 'post',
      path: '/webhooks/:id/enable',
      summary: 'Enables a disabled endpoint of yours again: deliveries resume after its cursor (nothing recorded since is lost).',
      tag: 'webhooks',
      roles: anyone,
      params: idParams,
      responses: { 200: { description: 'Enabled.', body: InternalDb.webhookEnable.reply } },
      handler: async ({ principal, params, ctx }) => {
        await own(principal, params.id);
        return ok(await db.ask(InternalDb.webhookEnable, { id: params.id, by: actorOf(principal, ctx) }));
      },
    }),
  ];
}
