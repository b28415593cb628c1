import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { defineOp } from './define.js';

// Each change runs in one transaction with the change log row the store writes for it.
export const catalogueOps = [
  defineOp(InternalDb.vendorCreate, (i, { store }) => store.transaction(() => store.catalogue.createVendor(i.name, i.by))),
  defineOp(InternalDb.vendorList, (i, { store }) => {
    const { items, next } = store.catalogue.listVendors(i);
    return { vendors: items, next };
  }),
  defineOp(InternalDb.vendorSetDisabled, (i, { store }) => store.transaction(() => store.catalogue.setVendorDisabled(i.name, i.disabled, i.by))),
  defineOp(InternalDb.productCreate, (i, { store }) => store.transaction(() => store.catalogue.createProduct(i.vendor, i.code, i.name, i.eula ?? null, i.by))),
  defineOp(InternalDb.productList, (i, { store }) => {
    const { items, next } = store.catalogue.listProducts({ vendor: i.vendor ?? null, code: i.code ?? null }, i);
    return { products: items, next };
  }),
  defineOp(InternalDb.productSetEula, (i, { store }) => store.transaction(() => store.catalogue.setProductEula(i.product, i.eula, i.by))),
  defineOp(InternalDb.releaseCreate, (i, { store }) => store.transaction(() => store.catalogue.createRelease(i.product, i.version, i.channel, i.by))),
  defineOp(InternalDb.releaseList, (i, { store }) => {
    const { items, next } = store.catalogue.listReleases(i.product, i.version ?? null, i);
    return { releases: items, next };
  }),
  defineOp(InternalDb.artifactAdd, (i, { store }) => {
    const { by, product, version, ...artifact } = i;
    return store.transaction(() => store.catalogue.addArtifact(product, version, artifact, by));
  }),
  defineOp(InternalDb.releasePublish, (i, { store }) => store.transaction(() => store.catalogue.publish(i.product, i.version, i.by))),
  defineOp(InternalDb.releaseYank, (i, { store }) => store.transaction(() => store.catalogue.yank(i.product, i.version, i.by))),
];
