import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { defineOp } from './define.js';

export const catalogueOps = [
  defineOp(InternalDb.vendorCreate, (i, { store }) => store.catalogue.createVendor(i.name)),
  defineOp(InternalDb.vendorList, (i, { store }) => {
    const { items, next } = store.catalogue.listVendors(i);
    return { vendors: items, next };
  }),
  defineOp(InternalDb.vendorSetDisabled, (i, { store }) => store.catalogue.setVendorDisabled(i.name, i.disabled)),
  defineOp(InternalDb.productCreate, (i, { store }) => store.catalogue.createProduct(i.vendor, i.code, i.name, i.eula ?? null)),
  defineOp(InternalDb.productList, (i, { store }) => {
    const { items, next } = store.catalogue.listProducts({ vendor: i.vendor ?? null, code: i.code ?? null }, i);
    return { products: items, next };
  }),
  defineOp(InternalDb.productSetEula, (i, { store }) => store.catalogue.setProductEula(i.product, i.eula)),
  defineOp(InternalDb.releaseCreate, (i, { store }) => store.catalogue.createRelease(i.product, i.version, i.channel)),
  defineOp(InternalDb.releaseList, (i, { store }) => {
    const { items, next } = store.catalogue.listReleases(i.product, i.version ?? null, i);
    return { releases: items, next };
  }),
  defineOp(InternalDb.artifactAdd, (i, { store }) => store.catalogue.addArtifact(i.product, i.version, i)),
  defineOp(InternalDb.releasePublish, (i, { store }) => store.catalogue.publish(i.product, i.version)),
  defineOp(InternalDb.releaseYank, (i, { store }) => store.catalogue.yank(i.product, i.version)),
];
