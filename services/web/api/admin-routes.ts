import { z } from 'zod';
import { RemoteError } from '../../../lib/commlink/index.js';
import { created, ok, route, type ApiRoute } from './define.js';
import type { ApiDeps } from './deps.js';
import { idParam, isoTime, login, productCode, protocol, text } from './fields.js';

const customerParams = z.strictObject({ login });
const password = z.string().min(8).max(1024);

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
      responses: { 200: 'The vendors.' },
      handler: async () => ok(await db.request('vendor.list', {})),
    }),
    route({
      method: 'post',
      path: '/vendors',
      summary: 'Creates a vendor (then give it a vendor token).',
      tag: 'admin',
      roles: admin,
      body: z.strictObject({ name: text(128) }),
      responses: { 201: 'Created.' },
      handler: async ({ body }) => created(await db.request('vendor.create', body)),
    }),
    route({
      method: 'get',
      path: '/customers',
      summary: 'Lists customers.',
      tag: 'admin',
      roles: admin,
      responses: { 200: 'The customers.' },
      handler: async () => ok(await db.request('customer.list', {})),
    }),
    route({
      method: 'post',
      path: '/customers',
      summary: 'Creates a customer, with a password (hashed on the internal host) or none (key or token logins only).',
      tag: 'admin',
      roles: admin,
      body: z.strictObject({ login, name: text(256), email: z.email().max(254).optional(), password: password.optional() }),
      responses: { 201: 'Created.' },
      handler: async ({ body }) => created(await db.request('customer.create', body)),
    }),
    route({
      method: 'get',
      path: '/customers/:login',
      summary: 'A customer with its SSH keys.',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      responses: { 200: 'The customer.' },
      handler: async ({ params }) => ok(await db.request('customer.get', params)),
    }),
    route({
      method: 'patch',
      path: '/customers/:login',
      summary: 'Disables or enables a customer, sets or (null) removes its password.',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      body: z.strictObject({ disabled: z.boolean().optional(), password: password.nullable().optional() }).refine((b) => b.disabled !== undefined || b.password !== undefined, { message: 'give disabled or password', path: ['disabled'] }),
      responses: { 200: 'Changed.' },
      handler: async ({ params, body }) => {
        if (body.password !== undefined) await db.request('customer.setPassword', { login: params.login, password: body.password });
        if (body.disabled !== undefined) await db.request('customer.setDisabled', { login: params.login, disabled: body.disabled });
        return ok(await db.request('customer.get', params));
      },
    }),
    route({
      method: 'post',
      path: '/customers/:login/ssh-keys',
      summary: 'Adds an SSH public key (an authorized_keys line) for SFTP logins.',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      body: z.strictObject({ publicKey: z.string().min(1).max(16384) }),
      responses: { 201: 'Added: its fingerprint.' },
      handler: async ({ params, body }) => created(await db.request('sshkey.add', { login: params.login, publicKey: body.publicKey })),
    }),
    route({
      method: 'delete',
      path: '/customers/:login/ssh-keys',
      summary: 'Removes an SSH key by its SHA256 fingerprint (?fingerprint=SHA256:…).',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      query: z.strictObject({ fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/, 'an OpenSSH SHA256 fingerprint') }),
      responses: { 200: 'Removed.' },
      handler: async ({ params, query }) => ok(await db.request('sshkey.remove', { login: params.login, fingerprint: query.fingerprint })),
    }),
    route({
      method: 'get',
      path: '/customers/:login/entitlements',
      summary: "A customer's entitlements with their status now.",
      tag: 'admin',
      roles: admin,
      params: customerParams,
      responses: { 200: 'The entitlements.' },
      handler: async ({ params }) => ok(await db.request('entitlements.list', { customer: params.login })),
    }),
    route({
      method: 'post',
      path: '/customers/:login/entitlements',
      summary: 'Grants a customer a product: a semver range, from a start (default now) until an optional expiry, and what expiry means (keep: releases published before it stay; revoke: nothing does).',
      tag: 'admin',
      roles: admin,
      params: customerParams,
      body: z.strictObject({ product: productCode, range: z.string().min(1).max(256).default('*'), startsAt: isoTime.optional(), expiresAt: isoTime.optional(), onExpiry: z.enum(['keep', 'revoke']).default('keep') }),
      responses: { 201: 'Granted.' },
      handler: async ({ params, body }) => {
        return created(await db.request('entitlement.grant', { customer: params.login, ...body }));
      },
    }),
    route({
      method: 'delete',
      path: '/customers/:login/entitlements/:id',
      summary: "Revokes an entitlement: it grants nothing from now on, and its releases leave the customer's areas at once.",
      tag: 'admin',
      roles: admin,
      params: z.strictObject({ login, id: idParam }),
      responses: { 200: 'Revoked: what left the areas.' },
      handler: async ({ params }) => {
        const { entitlements } = (await db.request('entitlements.list', { customer: params.login })) as { entitlements: { id: number }[] };
        if (!entitlements.some((e) => e.id === params.id)) throw new RemoteError('ERR_NOT_FOUND', `${params.login} has no entitlement ${params.id}`, { field: 'id' });
        const reply = await db.request('entitlement.revoke', { id: params.id });
        return ok({ ...reply, removed: await fulfillment.pruneEverywhere(params.login) });
      },
    }),
    route({
      method: 'get',
      path: '/tokens',
      summary: 'Lists API tokens (never the tokens themselves).',
      tag: 'admin',
      roles: admin,
      responses: { 200: 'The tokens.' },
      handler: async () => ok(await db.request('token.list', {})),
    }),
    route({
      method: 'post',
      path: '/tokens',
      summary: 'Creates an API token for a customer (owner: login), a vendor (owner: vendor name) or an admin (no owner). The token is in this answer only.',
      tag: 'admin',
      roles: admin,
      body: z.strictObject({ kind: z.enum(['customer', 'vendor', 'admin']), owner: z.string().min(1).max(128).optional(), label: z.string().max(128).default('') }),
      responses: { 201: 'Created: the token, shown this once.' },
      handler: async ({ body }) => created(await db.request('token.create', body)),
    }),
    route({
      method: 'delete',
      path: '/tokens/:id',
      summary: 'Revokes an API token.',
      tag: 'admin',
      roles: admin,
      params: z.strictObject({ id: idParam }),
      responses: { 200: 'Revoked.' },
      handler: async ({ params }) => {
        const reply = await db.request('token.revoke', { id: params.id });
        tokens.forget();
        return ok(reply);
      },
    }),
    route({
      method: 'get',
      path: '/audit',
      summary: 'Download events, newest first: who, what, protocol, bytes, duration, complete or aborted.',
      tag: 'admin',
      roles: admin,
      query: z.strictObject({
        customer: login.optional(),
        protocol: protocol.optional(),
        outcome: z.enum(['complete', 'aborted']).optional(),
        since: isoTime.optional(),
        until: isoTime.optional(),
        limit: z.string().regex(/^[1-9][0-9]{0,4}$/, 'an integer from 1 to 10000').transform(Number).optional(),
      }),
      responses: { 200: 'The events.' },
      handler: async ({ query }) => ok(await db.request('audit.query', query)),
    }),
    route({
      method: 'get',
      path: '/file-hosts',
      summary: 'The file hosts connected to this web host.',
      tag: 'admin',
      roles: admin,
      responses: { 200: 'The file hosts.' },
      handler: async () => ok({ fileHosts: deps.fileHosts.list().map((h) => ({ name: h.name, httpUrl: h.httpUrl, ftpUrl: h.ftpUrl ?? null, sftpUrl: h.sftpUrl ?? null, since: h.since.toISOString(), address: h.peer.remoteAddress })) }),
    }),
  ];
}
