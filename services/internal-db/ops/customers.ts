import { z } from 'zod';
import { DbErrors } from '../errors.js';
import { hashPassword } from '../passwords.js';
import { parseSshPublicKey } from '../ssh-keys.js';
import { code, defineOp, id, isoTime, login, password, text, version } from './define.js';

const email = z.email().max(254);

export const customerOps = [
  defineOp(
    'customer.create',
    'Creates a customer, with a password (hashed here) or none (key or token login only).',
    z.strictObject({ login, name: text(256), email: email.optional(), password: password.min(8).optional() }),
    async (i, { store }) => {
      const hash = i.password === undefined ? null : await hashPassword(i.password, store.scryptLogN);
      return store.customers.create(i.login, i.name, i.email ?? null, hash);
    },
  ),
  defineOp('customer.get', 'A customer with its SSH keys.', z.strictObject({ login }), (i, { store }) => {
    const c = store.customers.get(i.login);
    return { id: c.id, login: c.login, name: c.name, email: c.email, disabled: c.disabled === 1, hasPassword: c.password_hash !== null, sshKeys: store.customers.sshKeys(i.login) };
  }),
  defineOp('customer.list', 'Lists customers.', z.strictObject({}), (_i, { store }) => ({ customers: store.customers.list() })),
  defineOp('customer.setPassword', 'Sets (or with null removes) a customer password.', z.strictObject({ login, password: password.min(8).nullable() }), async (i, { store }) => {
    store.customers.get(i.login);
    const hash = i.password === null ? null : await hashPassword(i.password, store.scryptLogN);
    return store.customers.setPasswordHash(i.login, hash);
  }),
  defineOp('customer.setDisabled', 'Disables or enables a customer (a disabled customer cannot log in).', z.strictObject({ login, disabled: z.boolean() }), (i, { store }) =>
    store.customers.setDisabled(i.login, i.disabled),
  ),
  defineOp('sshkey.add', "Adds an SSH public key (an authorized_keys line) to a customer.", z.strictObject({ login, publicKey: z.string().min(1).max(16384) }), (i, { store }) =>
    store.customers.addSshKey(i.login, parseSshPublicKey(i.publicKey)),
  ),
  defineOp('sshkey.remove', 'Removes an SSH key by its SHA256 fingerprint.', z.strictObject({ login, fingerprint: z.string().regex(/^SHA256:[A-Za-z0-9+/]{43}$/) }), (i, { store }) =>
    store.customers.removeSshKey(i.login, i.fingerprint),
  ),
  defineOp(
    'token.create',
    'Creates an API token for a customer, a vendor or an admin; the token is in this reply only.',
    z.strictObject({ kind: z.enum(['customer', 'vendor', 'admin']), owner: z.string().min(1).max(128).optional(), label: z.string().max(128).default('') }),
    (i, { store }) => {
      let ownerId: number | null = null;
      if (i.kind === 'admin') {
        if (i.owner !== undefined) throw DbErrors.INVALID_INPUT('token.create: an admin token has no owner', { field: 'owner' });
      } else {
        if (i.owner === undefined) throw DbErrors.INVALID_INPUT(`token.create: a ${i.kind} token needs an owner`, { field: 'owner' });
        ownerId = i.kind === 'customer' ? store.customers.get(i.owner).id : store.catalogue.vendorId(i.owner);
      }
      return store.customers.createToken(i.kind, ownerId, i.label);
    },
  ),
  defineOp('token.revoke', 'Revokes an API token by id.', z.strictObject({ id }), (i, { store }) => store.customers.revokeToken(i.id)),
  defineOp('token.list', 'Lists API tokens (never the tokens themselves).', z.strictObject({}), (_i, { store }) => ({ tokens: store.customers.listTokens() })),
];

export const entitlementOps = [
  defineOp(
    'entitlement.grant',
    'Grants a customer a product: a semver range, from a start (default now) until an optional expiry, with what expiry means.',
    z.strictObject({
      customer: login,
      product: code,
      range: z.string().min(1).max(256).default('*'),
      startsAt: isoTime.optional(),
      expiresAt: isoTime.optional(),
      onExpiry: z.enum(['keep', 'revoke']).default('keep'),
    }),
    (i, { store }) => store.entitlements.grant(store.customers.get(i.customer).id, i.product, i.range, i.startsAt ?? null, i.expiresAt ?? null, i.onExpiry),
  ),
  defineOp('entitlement.revoke', 'Revokes an entitlement: it grants nothing from now on.', z.strictObject({ id }), (i, { store }) => store.entitlements.revoke(i.id)),
  defineOp('entitlements.list', "A customer's entitlements with their status now.", z.strictObject({ customer: login }), (i, { store }) => ({
    entitlements: store.entitlements.list(store.customers.get(i.customer).id),
  })),
  defineOp(
    'release.resolve',
    'The artifacts a customer may download now (newest first), optionally narrowed.',
    z.strictObject({ customer: login, product: code.optional(), platform: z.string().max(32).optional(), arch: z.string().max(32).optional(), channel: z.string().max(32).optional() }),
    (i, { store }) => ({ artifacts: store.entitlements.resolve(store.customers.get(i.customer).id, i) }),
  ),
  defineOp('eula.create', 'Stores a EULA text.', z.strictObject({ title: text(256), body: z.string().min(1).max(1_000_000) }), (i, { store }) => store.eulas.create(i.title, i.body)),
  defineOp('eula.get', 'A EULA text.', z.strictObject({ id }), (i, { store }) => store.eulas.get(i.id)),
  defineOp('eula.list', 'Lists EULAs.', z.strictObject({}), (_i, { store }) => ({ eulas: store.eulas.list() })),
  defineOp('eula.accept', "Records a customer's acceptance of a EULA.", z.strictObject({ customer: login, eula: id }), (i, { store }) =>
    store.eulas.accept(store.customers.get(i.customer).id, i.eula),
  ),
  defineOp('staging.record', 'Records that a release is staged for a customer on a file host.', z.strictObject({ customer: login, product: code, version, host: z.string().min(1).max(128) }), (i, { store }) =>
    store.stagings.record(store.customers.get(i.customer).id, store.catalogue.release(i.product, i.version).id, i.host),
  ),
  defineOp('staging.remove', 'Forgets a staging.', z.strictObject({ customer: login, product: code, version, host: z.string().min(1).max(128) }), (i, { store }) =>
    store.stagings.remove(store.customers.get(i.customer).id, store.catalogue.release(i.product, i.version).id, i.host),
  ),
  defineOp('staging.list', "A customer's stagings.", z.strictObject({ customer: login }), (i, { store }) => ({ stagings: store.stagings.list(store.customers.get(i.customer).id) })),
];
