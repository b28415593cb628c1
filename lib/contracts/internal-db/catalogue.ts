import { actorField } from './changes.js';
import { z } from 'zod';
import { defineOperation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { channel, fileName, id, isoTime, label, productCode, sha256, text, version } from '../names.js';
import { artifact, storedName } from './shapes.js';

const vendorName = text(128);
const product = z.strictObject({ id, code: storedName, name: z.string(), vendor: z.string(), eulaId: id.nullable() });
const releaseKey = z.strictObject({ product: productCode, version });

export const vendorCreate = defineOperation({
  name: 'vendor.create',
  summary: 'Creates a vendor.',
  request: z.strictObject({ ...actorField, name: vendorName }),
  reply: z.strictObject({ id, name: z.string() }),
});

export const vendorList = defineOperation({
  name: 'vendor.list',
  summary: 'Lists vendors, by name, a page at a time.',
  request: z.strictObject({ ...pageRequest }),
  reply: pageReply('vendors', z.strictObject({ id, name: z.string(), disabled: z.boolean(), createdAt: isoTime })),
});

export const vendorSetDisabled = defineOperation({
  name: 'vendor.setDisabled',
  summary: "Disables or enables a vendor (a disabled vendor's API tokens are refused).",
  request: z.strictObject({ ...actorField, name: vendorName, disabled: z.boolean() }),
  reply: z.strictObject({ name: z.string(), disabled: z.boolean() }),
});

export const productCreate = defineOperation({
  name: 'product.create',
  summary: 'Creates a product of a vendor, optionally behind a EULA.',
  request: z.strictObject({ ...actorField, vendor: vendorName, code: productCode, name: text(256), eula: id.optional() }),
  reply: product,
});

export const productList = defineOperation({
  name: 'product.list',
  summary: 'Lists products by code, of one vendor or all (or the one product `code`), a page at a time.',
  request: z.strictObject({ vendor: vendorName.optional(), code: productCode.optional(), ...pageRequest }),
  reply: pageReply('products', product),
});

export const productSetEula = defineOperation({
  name: 'product.setEula',
  summary: 'Puts a product behind a EULA (or removes it with eula: null).',
  request: z.strictObject({ ...actorField, product: productCode, eula: id.nullable() }),
  reply: z.strictObject({ code: storedName, eulaId: id.nullable() }),
});

export const releaseCreate = defineOperation({
  name: 'release.create',
  summary: 'Creates a draft release (the version must be a semantic version, written as semver writes it).',
  request: z.strictObject({ ...actorField, product: productCode, version, channel: channel.default('stable') }),
  reply: z.strictObject({ id, product: storedName, version: storedName, channel: storedName, status: z.literal('draft') }),
});

export const releaseList = defineOperation({
  name: 'release.list',
  summary: 'Lists the releases of a product (or the one release `version`) with their artifacts, oldest first, a page at a time.',
  request: z.strictObject({ product: productCode, version: version.optional(), ...pageRequest }),
  reply: pageReply(
    'releases',
    z.strictObject({
      version: storedName,
      channel: storedName,
      status: z.enum(['draft', 'published', 'yanked']),
      publishedAt: isoTime.nullable(),
      yankedAt: isoTime.nullable(),
      artifacts: z.array(artifact),
    }),
  ),
});

export const artifactAdd = defineOperation({
  name: 'artifact.add',
  summary: 'Adds an artifact (a file already in the repository) to a draft release.',
  request: z.strictObject({
    ...actorField,
    product: productCode,
    version,
    filename: fileName,
    size: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
    sha256,
    platform: label.default('any'),
    arch: label.default('any'),
    objectId: sha256.describe('the repository object id (its SHA-256, lowercase hex)'),
  }),
  reply: artifact.extend({ product: storedName, version: storedName }),
});

export const releasePublish = defineOperation({
  name: 'release.publish',
  summary: 'Publishes a draft release that has artifacts.',
  request: releaseKey.extend(actorField),
  reply: z.strictObject({ product: storedName, version: storedName, status: z.literal('published'), publishedAt: isoTime }),
});

export const releaseYank = defineOperation({
  name: 'release.yank',
  summary: 'Withdraws a published release: no one is granted it any more.',
  request: releaseKey.extend(actorField),
  reply: z.strictObject({ product: storedName, version: storedName, status: z.literal('yanked'), yankedAt: isoTime }),
});
