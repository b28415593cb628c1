import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { hashPassword } from '../passwords.js';
import { parseSshPublicKey } from '../ssh-keys.js';
import { defineOp } from './define.js';

const { InternalDbErrors } = InternalDb;

/** An ISO time of a request as epoch milliseconds (null when absent). */
const epochMs = (time: string | undefined): number | null => (time === undefined ? null : Date.parse(time));

export const customerOps = [
  defineOp(InternalDb.customerCreate, async (i, { store }) => {
    const hash = i.password === undefined ? null : await hashPassword(i.password, store.scryptLogN);
    return store.customers.create(i.login, i.name, i.email ?? null, hash);
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
  defineOp(InternalDb.customerList, (_i, { store }) => ({ customers: store.customers.list() })),
  defineOp(InternalDb.customerSetPassword, async (i, { store }) => {
    store.customers.get(i.login);
    const hash = i.password === null ? null : await hashPassword(i.password, store.scryptLogN);
    return store.customers.setPasswordHash(i.login, hash);
  }),
  defineOp(InternalDb.customerSetDisabled, (i, { store }) => store.customers.setDisabled(i.login, i.disabled)),
  defineOp(InternalDb.sshKeyAdd, (i, { store }) => store.customers.addSshKey(i.login, parseSshPublicKey(i.publicKey))),
  defineOp(InternalDb.sshKeyRemove, (i, { store }) => store.customers.removeSshKey(i.login, i.fingerprint)),
  defineOp(InternalDb.tokenCreate, (i, { store }) => {
    let ownerId: number | null = null;
    if (i.kind === 'admin') {
      if (i.owner !== undefined) throw InternalDbErrors.INVALID_INPUT('token.create: an admin token has no owner', { field: 'owner' });
    } else {
      if (i.owner === undefined) throw InternalDbErrors.INVALID_INPUT(`token.create: a ${i.kind} token needs an owner`, { field: 'owner' });
      ownerId = i.kind === 'customer' ? store.customers.get(i.owner).id : store.catalogue.vendorId(i.owner);
    }
    return store.customers.createToken(i.kind, ownerId, i.label);
  }),
  defineOp(InternalDb.tokenRevoke, (i, { store }) => store.customers.revokeToken(i.id)),
  defineOp(InternalDb.tokenList, (_i, { store }) => ({ tokens: store.customers.listTokens() })),
];

export const entitlementOps = [
  defineOp(InternalDb.entitlementGrant, (i, { store }) =>
    store.entitlements.grant(store.customers.get(i.customer).id, i.product, i.range, epochMs(i.startsAt), epochMs(i.expiresAt), i.onExpiry),
  ),
  defineOp(InternalDb.entitlementRevoke, (i, { store }) => store.entitlements.revoke(i.id)),
  defineOp(InternalDb.entitlementsList, (i, { store }) => ({ entitlements: store.entitlements.list(store.customers.get(i.customer).id) })),
  defineOp(InternalDb.releaseResolve, (i, { store }) => ({ artifacts: store.entitlements.resolve(store.customers.get(i.customer).id, i) })),
  defineOp(InternalDb.eulaCreate, (i, { store }) => store.eulas.create(i.title, i.body)),
  defineOp(InternalDb.eulaGet, (i, { store }) => store.eulas.get(i.id)),
  defineOp(InternalDb.eulaList, (_i, { store }) => ({ eulas: store.eulas.list() })),
  defineOp(InternalDb.eulaAccept, (i, { store }) => store.eulas.accept(store.customers.get(i.customer).id, i.eula)),
  defineOp(InternalDb.stagingRecord, (i, { store }) =>
    store.stagings.record(store.customers.get(i.customer).id, store.catalogue.release(i.product, i.version).id, i.host),
  ),
  defineOp(InternalDb.stagingRemove, (i, { store }) =>
    store.stagings.remove(store.customers.get(i.customer).id, store.catalogue.release(i.product, i.version).id, i.host),
  ),
  defineOp(InternalDb.stagingList, (i, { store }) => ({ stagings: store.stagings.list(store.customers.get(i.customer).id) })),
];
