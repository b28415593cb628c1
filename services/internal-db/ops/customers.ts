import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { offsetPage } from '../../../lib/contracts/page.js';
import { hashPassword } from '../passwords.js';
import { parseSshPublicKey } from '../ssh-keys.js';
import { after, pageOf } from '../store/page.js';
import { defineOp } from './define.js';

const { InternalDbErrors } = InternalDb;

/** An ISO time of a request as epoch milliseconds (null when absent). */
const epochMs = (time: string | undefined): number | null => (time === undefined ? null : Date.parse(time));

export const customerOps = [
  defineOp(InternalDb.customerCreate, async (i, { store }) => {
    const hash = i.password === undefined ? null : await hashPassword(i.password, store.scryptLogN);
    return store.transaction(() => store.customers.create(i.login, i.name, i.email ?? null, hash, i.by));
  }),
  defineOp(InternalDb.customerGet, (i, { store }) => {
    const c = store.customers.get(i.login);
    return {
      id: c.id,
      login: c.login,
      name: c.name,
      email: c.email,
      disabled: c.disabled === 1,
      hasPassword: c.password_hash !== null,
      sshKeys: store.customers.sshKeys(i.login),
    };
  }),
  defineOp(InternalDb.customerList, (i, { store }) => {
    const { items, next } = store.customers.list(i);
    return { customers: items, next };
  }),
  defineOp(InternalDb.customerSetPassword, async (i, { store }) => {
    const customer = store.customers.get(i.login);
    const hash = i.password === null ? null : await hashPassword(i.password, store.scryptLogN);
    return store.transaction(() => {
      store.sessions.endAll(customer.id); // a changed password signs every portal session out
      return store.customers.setPasswordHash(i.login, hash, i.by);
    });
  }),
  defineOp(InternalDb.customerSetDisabled, (i, { store }) =>
    store.transaction(() => {
      if (i.disabled) store.sessions.endAll(store.customers.get(i.login).id);
      return store.customers.setDisabled(i.login, i.disabled, i.by);
    }),
  ),
  defineOp(InternalDb.sshKeyAdd, (i, { store }) => {
    const key = parseSshPublicKey(i.publicKey);
    return store.transaction(() => store.customers.addSshKey(i.login, key, i.by));
  }),
  defineOp(InternalDb.sshKeyRemove, (i, { store }) => store.transaction(() => store.customers.removeSshKey(i.login, i.fingerprint, i.by))),
  defineOp(InternalDb.tokenCreate, (i, { store }) =>
    store.transaction(() => {
      let ownerId: number | null = null;
      if (i.kind === 'admin') {
        if (i.owner !== undefined) throw InternalDbErrors.INVALID_INPUT('token.create: an admin token has no owner', { field: 'owner' });
      } else {
        if (i.owner === undefined) throw InternalDbErrors.INVALID_INPUT(`token.create: a ${i.kind} token needs an owner`, { field: 'owner' });
        ownerId = i.kind === 'customer' ? store.customers.get(i.owner).id : store.catalogue.vendorId(i.owner);
      }
      return store.customers.createToken(i.kind, ownerId, i.label, i.by);
    }),
  ),
  defineOp(InternalDb.tokenRevoke, (i, { store }) => store.transaction(() => store.customers.revokeToken(i.id, i.by))),
  defineOp(InternalDb.tokenList, (i, { store }) => {
    const { items, next } = store.customers.listTokens(i);
    return { tokens: items, next };
  }),
];

export const entitlementOps = [
  defineOp(InternalDb.entitlementGrant, (i, { store }) =>
    store.transaction(() =>
      store.entitlements.grant(store.customers.get(i.customer).id, i.product, i.range, epochMs(i.startsAt), epochMs(i.expiresAt), i.onExpiry, i.by),
    ),
  ),
  defineOp(InternalDb.entitlementRevoke, (i, { store }) =>
    store.transaction(() => store.entitlements.revoke(i.id, i.customer === undefined ? undefined : store.customers.get(i.customer).id, i.by)),
  ),
  defineOp(InternalDb.entitlementsList, (i, { store }) => {
    // A customer has few entitlements: the page is cut from the list in memory, by id.
    const [id] = after(i, ['number']) ?? [0];
    const all = store.entitlements.list(store.customers.get(i.customer).id).filter((e) => e.id > id);
    const { items, next } = pageOf(all, i.limit, (e) => [e.id]);
    return { entitlements: items, next };
  }),
  defineOp(InternalDb.releaseResolve, (i, { store }) => {
    // The list is computed whole (it is ordered by semver, not by a column): a page is an offset in it.
    const customer = store.customers.get(i.customer);
    // A disabled customer may have nothing now (what its areas hold is pruned to this).
    const { items, next } = offsetPage(customer.disabled ? [] : store.entitlements.resolve(customer.id, i), i);
    return { artifacts: items, next };
  }),
  defineOp(InternalDb.eulaCreate, (i, { store }) => store.transaction(() => store.eulas.create(i.title, i.body, i.by))),
  defineOp(InternalDb.eulaGet, (i, { store }) => store.eulas.get(i.id)),
  defineOp(InternalDb.eulaList, (i, { store }) => {
    const { items, next } = store.eulas.list(i);
    return { eulas: items, next };
  }),
  defineOp(InternalDb.eulaAccept, (i, { store }) => store.transaction(() => store.eulas.accept(store.customers.get(i.customer), i.eula, i.by))),
  defineOp(InternalDb.stagingRecord, (i, { store }) =>
    store.stagings.record(store.customers.get(i.customer).id, store.catalogue.release(i.product, i.version).id, i.host),
  ),
  defineOp(InternalDb.stagingRemove, (i, { store }) =>
    store.stagings.remove(store.customers.get(i.customer).id, store.catalogue.release(i.product, i.version).id, i.host),
  ),
  defineOp(InternalDb.stagingList, (i, { store }) => {
    const { items, next } = store.stagings.list(store.customers.get(i.customer).id, i);
    return { stagings: items, next };
  }),
  defineOp(InternalDb.stagingCustomers, (i, { store }) => {
    const { items, next } = store.stagings.customersOf(i.product, i.version ?? null, i);
    return { customers: items, next };
  }),
];
