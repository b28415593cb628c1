import { z } from 'zod';
import type { Body } from '../../../lib/commlink/index.js';
import { DbErrors } from '../errors.js';
import { decoyHash, verifyPassword } from '../passwords.js';
import type { Store } from '../store/index.js';
import { defineOp, login, password, protocol, type OpContext } from './define.js';

let decoy: Promise<string> | undefined;

/** The customer and what it may have now: the answer to a successful login. */
export function customerState(store: Store, customerId: number): Body {
  const customer = store.customers.byId(customerId)!;
  const rows = store.entitlements.rows(customerId); // one query serves both lists below
  const entitlements = store.entitlements.list(customerId, rows).filter((e) => e.status !== 'revoked');
  return {
    customer: { id: customer.id, login: customer.login, name: customer.name },
    entitlements,
    releases: store.entitlements.grantedReleases(customerId, {}, rows).map((r) => ({ product: r.product, version: r.version })),
  };
}

async function refuse(ctx: OpContext, fields: Record<string, unknown>, reason: string): Promise<never> {
  ctx.log.info('login refused', { ...fields, reason });
  throw DbErrors.AUTH_REFUSED('login refused');
}

export const authCheck = defineOp(
  'auth.check',
  'Checks a login (password or SSH public key) and returns the customer with its current entitlements.',
  z
    .strictObject({
      login,
      password: password.optional(),
      publicKey: z.strictObject({ algorithm: z.string().min(1).max(64), key: z.string().min(1).max(16384) }).optional(),
      protocol,
      clientAddress: z.string().min(1).max(64),
    })
    .refine((b) => (b.password === undefined) !== (b.publicKey === undefined), { message: 'give exactly one of password and publicKey', path: ['password'] }),
  async (input, ctx) => {
    const { store } = ctx;
    const fields = { login: input.login, protocol: input.protocol, clientAddress: input.clientAddress, method: input.password !== undefined ? 'password' : 'publickey' };
    const customer = store.customers.find(input.login);
    if (input.password !== undefined) {
      const stored = customer?.password_hash ?? null;
      if (customer && stored && store.passwordCache.has(customer.id, stored, input.password)) {
        if (customer.disabled) return refuse(ctx, fields, 'disabled');
        return customerState(store, customer.id);
      }
      // Unknown login or no password: verify against a decoy, so the time taken tells nothing.
      decoy ??= decoyHash(store.scryptLogN);
      const ok = await verifyPassword(input.password, stored ?? (await decoy));
      if (!customer || !stored || !ok) return refuse(ctx, fields, !customer ? 'unknown login' : !stored ? 'no password set' : 'wrong password');
      if (customer.disabled) return refuse(ctx, fields, 'disabled');
      store.passwordCache.add(customer.id, stored, input.password);
      return customerState(store, customer.id);
    }
    const key = input.publicKey!;
    if (!customer || !store.customers.hasSshKey(customer.id, key.algorithm, key.key)) return refuse(ctx, fields, !customer ? 'unknown login' : 'key not registered');
    if (customer.disabled) return refuse(ctx, fields, 'disabled');
    return customerState(store, customer.id);
  },
);

export const tokenCheck = defineOp(
  'token.check',
  'Returns the owner of a live API token.',
  z.strictObject({ token: z.string().min(1).max(256) }),
  (input, { store }) => {
    const owner = store.customers.tokenOwner(input.token);
    if (!owner) throw DbErrors.AUTH_REFUSED('token refused');
    const customer = owner.ownerKind === 'customer' && owner.ownerId !== null ? store.customers.byId(owner.ownerId) : undefined;
    const vendor = owner.ownerKind === 'vendor' && owner.ownerId !== null ? store.catalogue.vendorName(owner.ownerId) : undefined;
    return { tokenId: owner.tokenId, kind: owner.ownerKind, customer: customer?.login ?? null, vendor: vendor ?? null };
  },
);
