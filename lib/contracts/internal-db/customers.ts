import { actorField } from './changes.js';
import { z } from 'zod';
import { defineOperation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { id, isoTime, login, newPassword, sshFingerprint, text } from '../names.js';
import { storedName } from './shapes.js';

const email = z.email().max(254);
const tokenKind = z.enum(['customer', 'vendor', 'admin']);
/** A label people give a token: may be empty. */
const tokenLabel = z.union([z.literal(''), text(128)]);

export const customerCreate = defineOperation({
  name: 'customer.create',
  summary: 'Creates a customer, with a password (hashed here) or none (key or token login only).',
  request: z.strictObject({ ...actorField, login, name: text(256), email: email.optional(), password: newPassword.optional() }),
  reply: z.strictObject({ id, login: storedName, name: z.string(), email: z.string().nullable() }),
});

export const customerGet = defineOperation({
  name: 'customer.get',
  summary: 'A customer with its SSH keys.',
  request: z.strictObject({ login }),
  reply: z.strictObject({
    id,
    login: storedName,
    name: z.string(),
    email: z.string().nullable(),
    disabled: z.boolean(),
    hasPassword: z.boolean(),
    sshKeys: z.array(z.strictObject({ algorithm: z.string(), keyB64: z.string(), fingerprint: z.string(), comment: z.string() })),
  }),
});

export const customerList = defineOperation({
  name: 'customer.list',
  summary: 'Lists customers by login, a page at a time.',
  request: z.strictObject({ ...pageRequest }),
  reply: pageReply(
    'customers',
    z.strictObject({
      login: storedName,
      name: z.string(),
      email: z.string().nullable(),
      disabled: z.boolean(),
      hasPassword: z.boolean(),
      sshKeys: z.int().min(0),
    }),
  ),
});

export const customerSetPassword = defineOperation({
  name: 'customer.setPassword',
  summary: 'Sets (or with null removes) a customer password.',
  request: z.strictObject({ ...actorField, login, password: newPassword.nullable() }),
  reply: z.strictObject({ login: storedName, hasPassword: z.boolean() }),
});

export const customerSetDisabled = defineOperation({
  name: 'customer.setDisabled',
  summary: 'Disables or enables a customer (a disabled customer cannot log in).',
  request: z.strictObject({ ...actorField, login, disabled: z.boolean() }),
  reply: z.strictObject({ login: storedName, disabled: z.boolean() }),
});

export const sshKeyAdd = defineOperation({
  name: 'sshkey.add',
  summary: 'Adds an SSH public key (an authorized_keys line) to a customer.',
  request: z.strictObject({ ...actorField, login, publicKey: z.string().min(1).max(16384) }),
  reply: z.strictObject({ login: storedName, fingerprint: z.string(), algorithm: z.string() }),
});

export const sshKeyRemove = defineOperation({
  name: 'sshkey.remove',
  summary: 'Removes an SSH key by its SHA256 fingerprint.',
  request: z.strictObject({ ...actorField, login, fingerprint: sshFingerprint }),
  reply: z.strictObject({ login: storedName, fingerprint: z.string() }),
});

export const tokenCreate = defineOperation({
  name: 'token.create',
  summary: 'Creates an API token for a customer, a vendor or an admin; the token is in this reply only.',
  request: z.strictObject({ ...actorField, kind: tokenKind, owner: z.string().min(1).max(128).optional(), label: tokenLabel.default('') }),
  reply: z.strictObject({ id, token: z.string(), ownerKind: tokenKind, label: z.string() }),
});

export const tokenRevoke = defineOperation({
  name: 'token.revoke',
  summary: 'Revokes an API token by id.',
  request: z.strictObject({ ...actorField, id }),
  reply: z.strictObject({ id, revoked: z.literal(true) }),
});

export const tokenList = defineOperation({
  name: 'token.list',
  summary: 'Lists API tokens (never the tokens themselves), oldest first, a page at a time.',
  request: z.strictObject({ ...pageRequest }),
  reply: pageReply(
    'tokens',
    z.strictObject({ id, ownerKind: tokenKind, ownerId: id.nullable(), label: z.string(), createdAt: isoTime, revokedAt: isoTime.nullable() }),
  ),
});
