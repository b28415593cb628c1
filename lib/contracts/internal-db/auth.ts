import { z } from 'zod';
import { defineOperation } from '../operation.js';
import { id, login, password, protocol } from '../names.js';
import { clientAddress, entitlement, grantedRelease, storedName } from './shapes.js';

export const authCheck = defineOperation({
  name: 'auth.check',
  summary: 'Checks a login (password or SSH public key) and returns the customer with its current entitlements.',
  request: z
    .strictObject({
      login,
      password: password.optional(),
      publicKey: z.strictObject({ algorithm: z.string().min(1).max(64), key: z.string().min(1).max(16384) }).optional(),
      protocol,
      clientAddress,
    })
    .refine((b) => (b.password === undefined) !== (b.publicKey === undefined), { message: 'give exactly one of password and publicKey', path: ['password'] }),
  reply: z.strictObject({
    customer: z.strictObject({ id, login: storedName, name: z.string() }),
    /** Every entitlement but revoked ones, with its status now. */
    entitlements: z.array(entitlement),
    /** The releases the customer may download now (granted, and any EULA before them accepted). */
    releases: z.array(grantedRelease),
  }),
});

export const authKeyCheck = defineOperation({
  name: 'auth.keyCheck',
  summary:
    'Whether an SSH public key is registered for a login whose customer is enabled (an SSH client offering a key before it signs with it). ' +
    'Nothing is logged in, pruned or counted; an unknown login is not registered.',
  request: z.strictObject({
    login,
    publicKey: z.strictObject({ algorithm: z.string().min(1).max(64), key: z.string().min(1).max(16384) }),
    protocol,
    clientAddress,
  }),
  reply: z.strictObject({ registered: z.boolean() }),
});

export const tokenCheck = defineOperation({
  name: 'token.check',
  summary: 'Returns the owner of a live API token.',
  request: z.strictObject({ token: z.string().min(1).max(256) }),
  reply: z.strictObject({
    tokenId: id,
    kind: z.enum(['customer', 'vendor', 'admin']),
    /** The customer's login, for a customer token. */
    customer: storedName.nullable(),
    /** The vendor's name, for a vendor token. */
    vendor: storedName.nullable(),
  }),
});
