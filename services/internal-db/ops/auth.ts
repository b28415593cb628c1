import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import type { ReplyIn } from '../../../lib/contracts/operation.js';
import { decoyHash, verifyPassword } from '../passwords.js';
import type { Store } from '../store/index.js';
import { defineOp, type OpContext } from './define.js';

const { InternalDbErrors } = InternalDb;
let decoy: Promise<string> | undefined;

/** The customer and what it may have now: the answer to a successful login. */
function customerState(store: Store, customerId: number): ReplyIn<typeof InternalDb.authCheck> {
  const customer = store.customers.byId(customerId)!;
  const rows = store.entitlements.rows(customerId); // one query serves both lists below
  const entitlements = store.entitlements.list(customerId, rows).filter((e) => e.status !== 'revoked');
  // What may be served now: granted, and not behind a EULA the customer has not accepted.
  const releases = store.entitlements
    .grantedReleases(customerId, {}, rows)
    .filter((r) => r.eulaId === null || store.eulas.acceptedAt(customerId, r.eulaId) !== null)
    .map((r) => ({ product: r.product, version: r.version }));
  return { customer: { id: customer.id, login: customer.login, name: customer.name }, entitlements, releases };
}

async function refuse(ctx: OpContext, fields: Record<string, unknown>, reason: string): Promise<never> {
  ctx.log.info('login refused', { ...fields, reason });
  throw InternalDbErrors.AUTH_REFUSED('login refused');
}

export const authCheck = defineOp(InternalDb.authCheck, async (input, ctx) => {
  const { store } = ctx;
  const fields = {
    login: input.login,
    protocol: input.protocol,
    clientAddress: input.clientAddress,
    method: input.password !== undefined ? 'password' : 'publickey',
  };
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
  if (!customer || !store.customers.hasSshKey(customer.id, key.algorithm, key.key))
    return refuse(ctx, fields, !customer ? 'unknown login' : 'key not registered');
  if (customer.disabled) return refuse(ctx, fields, 'disabled');
  return customerState(store, customer.id);
});

/** A key offered without a signature: registered or not, and nothing more (no refusal logged, no state computed). */
export const authKeyCheck = defineOp(InternalDb.authKeyCheck, (input, { store }) => {
  const customer = store.customers.find(input.login);
  const registered = customer !== undefined && !customer.disabled && store.customers.hasSshKey(customer.id, input.publicKey.algorithm, input.publicKey.key);
  return { registered };
});

export const tokenCheck = defineOp(InternalDb.tokenCheck, (input, ctx) => {
  const { store } = ctx;
  const owner = store.customers.tokenOwner(input.token);
  if (!owner) throw InternalDbErrors.AUTH_REFUSED('token refused');
  const customer = owner.ownerKind === 'customer' && owner.ownerId !== null ? store.customers.byId(owner.ownerId) : undefined;
  const vendor = owner.ownerKind === 'vendor' && owner.ownerId !== null ? store.catalogue.vendorById(owner.ownerId) : undefined;
  // A token is only as good as its owner: a disabled (or vanished) customer's or vendor's is refused.
  const ownerGone = (owner.ownerKind === 'customer' && (!customer || customer.disabled)) || (owner.ownerKind === 'vendor' && (!vendor || vendor.disabled));
  if (ownerGone) {
    ctx.log.info('token refused', { tokenId: owner.tokenId, reason: 'owner disabled' });
    throw InternalDbErrors.AUTH_REFUSED('token refused');
  }
  return { tokenId: owner.tokenId, kind: owner.ownerKind, customer: customer?.login ?? null, vendor: vendor?.name ?? null };
});

export const sessionCheck = defineOp(InternalDb.sessionCheck, (input, { store }) => {
  const customer = store.customers.find(input.login);
  if (!customer || customer.disabled || !store.sessions.live(customer.id, input.sid, Date.parse(input.startedAt)))
    throw InternalDbErrors.AUTH_REFUSED('session ended');
  return { login: customer.login, name: customer.name };
});

export const sessionEnd = defineOp(InternalDb.sessionEnd, (input, { store }) => {
  store.transaction(() => store.sessions.end(store.customers.get(input.login), input.sid, Date.parse(input.expiresAt), input.by));
  return { ended: true as const };
});
