import { z } from 'zod';
import { code, defineOp, id, text, version } from './define.js';

const channel = z.string().regex(/^[a-z][a-z0-9-]{0,31}$/, 'a channel is a lowercase word such as stable or beta');
const label = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,31}$/, 'lowercase letters, digits, . _ -');

export const catalogueOps = [
  defineOp('vendor.create', 'Creates a vendor.', z.strictObject({ name: text(128) }), (i, { store }) => store.catalogue.createVendor(i.name)),
  defineOp('vendor.list', 'Lists vendors.', z.strictObject({}), (_i, { store }) => ({ vendors: store.catalogue.listVendors() })),
  defineOp(
    'product.create',
    'Creates a product of a vendor, optionally behind a EULA.',
    z.strictObject({ vendor: text(128), code, name: text(256), eula: id.optional() }),
    (i, { store }) => store.catalogue.createProduct(i.vendor, i.code, i.name, i.eula ?? null),
  ),
  defineOp('product.list', 'Lists products, of one vendor or all.', z.strictObject({ vendor: text(128).optional() }), (i, { store }) => ({
    products: store.catalogue.listProducts(i.vendor ?? null),
  })),
  defineOp('product.setEula', 'Puts a product behind a EULA (or removes it with eula: null).', z.strictObject({ product: code, eula: id.nullable() }), (i, { store }) =>
    store.catalogue.setProductEula(i.product, i.eula),
  ),
  defineOp(
    'release.create',
    'Creates a draft release.',
    z.strictObject({ product: code, version, channel: channel.default('stable') }),
    (i, { store }) => store.catalogue.createRelease(i.product, i.version, i.channel),
  ),
  defineOp('release.list', 'Lists the releases of a product with their artifacts.', z.strictObject({ product: code }), (i, { store }) => ({
    releases: store.catalogue.listReleases(i.product),
  })),
  defineOp(
    'artifact.add',
    'Adds an artifact (a file already in the repository) to a draft release.',
    z.strictObject({
      product: code,
      version,
      filename: z.string().min(1).max(255).regex(/^[^/\\\u0000-\u001f\u007f]+$/, 'a file name has no slashes or control characters').refine((f) => f !== '.' && f !== '..', 'not . or ..'),
      size: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'lowercase hex SHA-256'),
      platform: label.default('any'),
      arch: label.default('any'),
      objectId: z.string().regex(/^[0-9a-f]{64}$/, 'the repository object id (its SHA-256, lowercase hex)'),
    }),
    (i, { store }) => store.catalogue.addArtifact(i.product, i.version, i),
  ),
  defineOp('release.publish', 'Publishes a draft release that has artifacts.', z.strictObject({ product: code, version }), (i, { store }) =>
    store.catalogue.publish(i.product, i.version),
  ),
  defineOp('release.yank', 'Withdraws a published release: no one is granted it any more.', z.strictObject({ product: code, version }), (i, { store }) =>
    store.catalogue.yank(i.product, i.version),
  ),
];
