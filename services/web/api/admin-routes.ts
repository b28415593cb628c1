import { z } from 'zod';
import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { hostName, httpBaseUrl, isoTime, login, newPassword, sshFingerprint } from '../../../lib/contracts/names.js';
import { decodeCursor, DEFAULT_PAGE, pageOf, pageReply } from '../../../lib/contracts/page.js';
import { actorOf } from '../auth/actor.js';
import { created, ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { idParam, pageQuery } from './fields.js';

const customerParams = z.strictObject({ login });
const page = z.strictObject(pageQuery);
const fileHosts = pageReply(
  'fileHosts',
  z.strictObject({
    name: hostName,
    httpUrl: httpBaseUrl,
    ftpUrl: z.string().nullable(),
    sftpUrl: z.string().nullable(),
    since: isoTime,
    address: z.string().describe('The address its link comes from.'),
  }),
);

export function adminRoutes(deps: ApiDeps): ApiRoute[] {
  const { db, fulfillment, tokens } = deps;
  const admin = ['admin'] as const;
  return [
    route({
      method: 'get',
      path: '/vendors',
      summary: 'Lists vendors.',
      tag: 'admin',
      roles: admin,
      responses: { 200: { description: 'The vendors.', body: InternalDb.vendorList.reply } },
      query: page,
      handler: async ({ query }) => ok(await db.ask(InternalDb.vendorList, query)),
    }),
    route({
      method: 'post',
      path: '/vendors',
      summary: 'Creates a vendor (then give it a vendor token).',
      tag: 'admin',
      roles: admin,
      body: InternalDb.vendorCreate.request.omit({ by: true }),
      responses: { 201: { description: 'Created.', body: InternalDb.vendorCreate.reply } },
      handler: async ({ body, principal, ctx }) => created(await db.ask(InternalDb.vendorCreate, { ...body, by: actorOf(principal, ctx) })),
    }),
    route({
      method: 'patch',
      path: '/vendors/:name',
      summary: "Disables or enables a vendor: a disabled vendor's API tokens are refused from this answer on.",
      tag: 'admin',
      roles: admin,
      params: z.strictObject({ name: InternalDb.vendorSetDisabled.request.shape.name }),
      body: InternalDb.vendorSetDisabled.request.pick({ disabled: true }),
      responses: { 200: { description: 'Changed.', body: InternalDb.vendorSetDisabled.reply } },
      handler: async ({ params, body, principal, ctx }) => {
        const reply = await db.ask(InternalDb.vendorSetDisabled, { name: params.name, disabled: body.disabled, by: actorOf(principal, ctx) });
        if (body.disabled) tokens.forgetOwner({ vendor: params.name });
        return ok(reply);
      },
    }),
    route({
      method: 'get',
      path: '/customers',
      summary: 'Lists customers.',
      tag: 'admin',
      roles: admin,
      responses: { 200: { description: 'The customers.', body: InternalDb.customerList.reply } },
      query: page,
      handler: async ({ query }) => ok(await db.ask(InternalDb.customerList, query)),
    }),
    route({
      method: 'post',
      path: '/customers',
      summary: 'Creates a customer, with a password (hashed on the internal host) or none (key or token logins only).',
      tag: 'admin',
      roles: admin,
      body: InternalDb.customerCreate.request.omit({ by: true }),
      responses: { 201: { description: 'Created.', body: InternalDb.customerCreate.reply } },
      handler: async ({ body, principal, ctx }) => created(await db.ask(InternalDb.customerCreate, { ...body, by: actorOf(principal, ctx) })),
    }),
    route({
      method: 'get',
      path: '/customers/:login',
      summary: 'A customer with its SSH keys.',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      responses: { 200: { description: 'The customer.', body: InternalDb.customerGet.reply } },
      handler: async ({ params }) => ok(await db.ask(InternalDb.customerGet, params)),
    }),
    route({
      method: 'patch',
      path: '/customers/:login',
      summary:
        "Disables or enables a customer, sets or (null) removes its password. Disabling refuses the customer's tokens, logins and portal sessions, " +
        'and empties its areas on every connected file host, before this answers; a password change signs its portal sessions out.',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      body: z
        .strictObject({ disabled: z.boolean().optional(), password: newPassword.nullable().optional() })
        .refine((b) => b.disabled !== undefined || b.password !== undefined, { message: 'give disabled or password', path: ['disabled'] }),
      responses: { 200: { description: 'Changed: the customer now.', body: InternalDb.customerGet.reply } },
      handler: async ({ params, body, principal, ctx }) => {
        const by = actorOf(principal, ctx);
        if (body.password !== undefined) await db.ask(InternalDb.customerSetPassword, { login: params.login, password: body.password, by });
        if (body.disabled !== undefined) await db.ask(InternalDb.customerSetDisabled, { login: params.login, disabled: body.disabled, by });
        if (body.disabled === true) {
          // Nothing of a disabled customer outlives this answer here: its remembered tokens and
          // links, its stagings, its areas on every file host.
          tokens.forgetOwner({ customer: params.login });
          await fulfillment.customerDisabled(params.login);
        }
        return ok(await db.ask(InternalDb.customerGet, params));
      },
    }),
    route({
      method: 'post',
      path: '/customers/:login/ssh-keys',
      summary: 'Adds an SSH public key (an authorized_keys line) for SFTP logins.',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      body: InternalDb.sshKeyAdd.request.pick({ publicKey: true }),
      responses: { 201: { description: 'Added: its fingerprint.', body: InternalDb.sshKeyAdd.reply } },
      handler: async ({ params, body, principal, ctx }) =>
        created(await db.ask(InternalDb.sshKeyAdd, { login: params.login, publicKey: body.publicKey, by: actorOf(principal, ctx) })),
    }),
    route({
      method: 'delete',
      path: '/customers/:login/ssh-keys',
      summary: 'Removes an SSH key by its SHA256 fingerprint (?fingerprint=SHA256:…).',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      query: z.strictObject({ fingerprint: sshFingerprint }),
      responses: { 200: { description: 'Removed.', body: InternalDb.sshKeyRemove.reply } },
      handler: async ({ params, query, principal, ctx }) =>
        ok(await db.ask(InternalDb.sshKeyRemove, { login: params.login, fingerprint: query.fingerprint, by: actorOf(principal, ctx) })),
    }),
    route({
      method: 'get',
      path: '/customers/:login/entitlements',
      summary: "A customer's entitlements with their status now.",
      tag: 'admin',
      roles: admin,
      params: customerParams,
      responses: { 200: { description: 'The entitlements.', body: InternalDb.entitlementsList.reply } },
      query: page,
      handler: async ({ params, query }) => ok(await db.ask(InternalDb.entitlementsList, { customer: params.login, ...query })),
    }),
    route({
      method: 'post',
      path: '/customers/:login/entitlements',
      summary:
        'Grants a customer a product: a semver range, from a start (default now) until an optional expiry, and what expiry means ' +
        '(keep: releases published before it stay; revoke: nothing does).',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      body: InternalDb.entitlementGrant.request.omit({ customer: true, by: true }),
      responses: { 201: { description: 'Granted.', body: InternalDb.entitlementGrant.reply } },
      handler: async ({ params, body, principal, ctx }) => {
        const granted = await db.ask(InternalDb.entitlementGrant, { customer: params.login, ...body, by: actorOf(principal, ctx) });
        fulfillment.entitlements.forgetCustomer(params.login); // seen at once through this web host (elsewhere: the feed)
        return created(granted);
      },
    }),
    route({
      method: 'delete',
      path: '/customers/:login/entitlements/:id',
      summary: "Revokes an entitlement: it grants nothing from now on, and its releases leave the customer's areas at once.",
      tag: 'admin',
      roles: admin,
      params: z.strictObject({ login, id: idParam }),
      responses: { 200: { description: 'Revoked: what left the areas.', body: InternalDb.entitlementRevoke.reply.extend({ removed: z.array(z.string()) }) } },
      handler: async ({ params, principal, ctx }) => {
        const reply = await db.ask(InternalDb.entitlementRevoke, { id: params.id, customer: params.login, by: actorOf(principal, ctx) });
        return ok({ ...reply, removed: await fulfillment.pruneEverywhere(params.login) });
      },
    }),
    route({
      method: 'get',
      path: '/tokens',
      summary: 'Lists API tokens (never the tokens themselves).',
      tag: 'admin',
      roles: admin,
      responses: { 200: { description: 'The tokens.', body: InternalDb.tokenList.reply } },
      query: page,
      handler: async ({ query }) => ok(await db.ask(InternalDb.tokenList, query)),
    }),
    route({
      method: 'post',
      path: '/tokens',
      summary: 'Creates an API token for a customer (owner: login), a vendor (owner: vendor name) or an admin (no owner). The token is in this answer only.',
      tag: 'admin',
      roles: admin,
      body: InternalDb.tokenCreate.request.omit({ by: true }),
      responses: { 201: { description: 'Created: the token, shown this once.', body: InternalDb.tokenCreate.reply } },
      handler: async ({ body, principal, ctx }) => created(await db.ask(InternalDb.tokenCreate, { ...body, by: actorOf(principal, ctx) })),
    }),
    route({
      method: 'delete',
      path: '/tokens/:id',
      summary: 'Revokes an API token: it is refused from this answer on here, and on every other web host within a second (the change feed).',
      tag: 'admin',
      roles: admin,
      params: z.strictObject({ id: idParam }),
      responses: { 200: { description: 'Revoked.', body: InternalDb.tokenRevoke.reply } },
      handler: async ({ params, principal, ctx }) => {
        const reply = await db.ask(InternalDb.tokenRevoke, { id: params.id, by: actorOf(principal, ctx) });
        tokens.forgetToken(params.id); // here at once; elsewhere by the change feed
        return ok(reply);
      },
    }),
    route({
      method: 'get',
      path: '/audit',
      summary: 'Download events, newest first: who, what, protocol, bytes, duration, complete or aborted.',
      tag: 'admin',
      roles: admin,
      query: InternalDb.auditQuery.request.extend(pageQuery),
      responses: { 200: { description: 'The events.', body: InternalDb.auditQuery.reply } },
      handler: async ({ query }) => ok(await db.ask(InternalDb.auditQuery, query)),
    }),
    route({
      method: 'get',
      path: '/file-hosts',
      summary: 'The file hosts connected to this web host.',
      tag: 'admin',
      roles: admin,
      query: page,
      responses: { 200: { description: 'The file hosts, by name.', body: fileHosts } },
      handler: async ({ query }) => {
        const [name] = query.cursor === undefined ? [''] : decodeCursor(query.cursor, ['string']);
        const hosts = deps.fileHosts
          .list()
          .filter((h) => h.name > name)
          .sort((a, b) => (a.name < b.name ? -1 : 1));
        const { items, next } = pageOf(hosts, query.limit ?? DEFAULT_PAGE, (h) => [h.name]);
        const described = items.map((h) => ({
          name: h.name,
          httpUrl: h.httpUrl,
          ftpUrl: h.ftpUrl ?? null,
          sftpUrl: h.sftpUrl ?? null,
          since: h.since.toISOString(),
          address: h.peer.remoteAddress,
        }));
        return ok({ fileHosts: described, next });
      },
    }),
  ];
}
