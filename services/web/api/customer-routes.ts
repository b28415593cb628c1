import { z } from 'zod';
import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { channel, label, productCode, semanticVersion, version } from '../../../lib/contracts/names.js';
import { DEFAULT_PAGE, offsetPage, pageReply } from '../../../lib/contracts/page.js';
import { WebErrors } from '../errors.js';
import { actorOf } from '../auth/actor.js';
import type { Principal } from '../auth/principal.js';
import { downloadLink, publicArtifact, stagedRelease, type PublicArtifact } from '../shapes.js';
import { created, ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { idParam, pageQuery } from './fields.js';

/** The customer a customer token acts for. */
export function customerOf(principal: Principal): string {
  if (principal.kind !== 'customer') throw WebErrors.FORBIDDEN('this needs a customer token');
  return principal.customer;
}

/** What a customer sees of an artifact: all but the repository's object id. */
export function toPublic({ objectId: _objectId, ...visible }: InternalDb.ResolvedArtifact): PublicArtifact {
  return visible;
}

const artifacts = pageReply('artifacts', publicArtifact);

const filter = z.strictObject({
  product: productCode.optional(),
  platform: label.optional(),
  arch: label.optional(),
  channel: channel.optional(),
  ...pageQuery,
});
const artifactParams = z.strictObject({ id: idParam });

export function customerRoutes(deps: ApiDeps): ApiRoute[] {
  const { db, fulfillment } = deps;
  return [
    route({
      method: 'get',
      path: '/entitlements',
      summary: 'Your entitlements, each with its status now (active, pending, expired-keep, expired, revoked).',
      tag: 'customer',
      roles: ['customer'],
      responses: { 200: { description: 'The entitlements.', body: InternalDb.entitlementsList.reply } },
      query: z.strictObject(pageQuery),
      handler: async ({ principal, query }) => ok(await db.ask(InternalDb.entitlementsList, { customer: customerOf(principal), ...query })),
    }),
    route({
      method: 'get',
      path: '/downloads',
      summary: 'The artifacts you may download now, newest release first; narrowed by product, platform, arch, channel.',
      tag: 'customer',
      roles: ['customer'],
      query: filter,
      responses: { 200: { description: 'The artifacts, with size and SHA-256.', body: artifacts } },
      handler: async ({ principal, query }) => {
        // The customer's artifacts as remembered while the change feed is live (else asked), narrowed and paged as release.resolve does.
        const { limit, cursor, ...narrowed } = query;
        const page = offsetPage(await fulfillment.entitledArtifacts(customerOf(principal), narrowed), { limit: limit ?? DEFAULT_PAGE, cursor });
        return ok({ artifacts: page.items.map(toPublic), next: page.next });
      },
    }),
    route({
      method: 'get',
      path: '/artifacts/:id/link',
      summary: 'A signed, expiring download link for an artifact (its release is staged on a file host first).',
      tag: 'customer',
      roles: ['customer'],
      params: artifactParams,
      responses: { 200: { description: 'The link, its expiry, the size and SHA-256 to check.', body: downloadLink } },
      handler: async ({ principal, params }) => ok(await fulfillment.link(customerOf(principal), params.id)),
    }),
    route({
      method: 'get',
      path: '/artifacts/:id/download',
      summary: 'Redirects (303) to a signed download URL on a file host.',
      tag: 'customer',
      roles: ['customer'],
      params: artifactParams,
      responses: { 303: { description: 'See Other: the Location is the signed URL on the file host (the body is the link).', body: downloadLink } },
      handler: async ({ principal, params }) => {
        const link = await fulfillment.link(customerOf(principal), params.id);
        return { status: 303, redirect: link.url, body: link };
      },
    }),
    route({
      method: 'post',
      path: '/stagings',
      summary: 'Stages a release in your area on a file host: HTTP links, and the ftp:// and sftp:// locations to log in to.',
      tag: 'customer',
      roles: ['customer'],
      body: z.strictObject({ product: productCode, version }),
      responses: { 201: { description: 'Staged: the files with their links, and the FTP and SFTP locations.', body: stagedRelease } },
      handler: async ({ principal, body }) => {
        const staged = await fulfillment.stage(customerOf(principal), body.product, body.version);
        return created({ ...staged, files: staged.files.map(({ method: _method, ...f }) => f) });
      },
    }),
    route({
      method: 'get',
      path: '/upgrade',
      summary:
        'The newest release you may have of a product (for a platform, arch and channel) newer than `current`: 303 to its download, 204 when there is none.',
      tag: 'customer',
      roles: ['customer'],
      query: z.strictObject({
        product: productCode,
        current: semanticVersion,
        platform: label.optional(),
        arch: label.optional(),
        channel: channel.optional(),
      }),
      responses: {
        303: {
          description: 'See Other: the download of the newest artifact (the body lists the release).',
          body: z.strictObject({ version, artifacts: z.array(publicArtifact), link: downloadLink }),
        },
        204: { description: 'No newer release: up to date.' },
      },
      handler: async ({ principal, query }) => {
        const customer = customerOf(principal);
        const { current, ...rest } = query;
        const newest = await fulfillment.upgrade(customer, rest, current);
        if (newest.length === 0) return { status: 204 };
        const link = await fulfillment.link(customer, newest[0]!.artifactId);
        return { status: 303, redirect: link.url, body: { version: newest[0]!.version, artifacts: newest.map(toPublic), link } };
      },
    }),
    route({
      method: 'get',
      path: '/eulas/:id',
      summary: 'A EULA text.',
      tag: 'customer',
      roles: ['customer', 'vendor', 'admin'],
      params: z.strictObject({ id: idParam }),
      responses: { 200: { description: 'The EULA.', body: InternalDb.eulaGet.reply } },
      handler: async ({ params }) => ok(await db.ask(InternalDb.eulaGet, { id: params.id })),
    }),
    route({
      method: 'post',
      path: '/eulas/:id/accept',
      summary: 'Accepts a EULA (recorded once, with the time).',
      tag: 'customer',
      roles: ['customer'],
      params: z.strictObject({ id: idParam }),
      responses: { 200: { description: 'Accepted: when.', body: InternalDb.eulaAccept.reply } },
      handler: async ({ principal, params, ctx }) => {
        const accepted = await db.ask(InternalDb.eulaAccept, { customer: customerOf(principal), eula: params.id, by: actorOf(principal, ctx) });
        fulfillment.entitlements.forgetCustomer(customerOf(principal)); // seen at once through this web host (elsewhere: the feed)
        return ok(accepted);
      },
    }),
  ];
}
