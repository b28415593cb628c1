import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { defineOp } from './define.js';

export const catalogueOps = [
  defineOp(InternalDb.vendorCreate, (i, { store }) => store.catalogue.createVendor(i.name)),
  defineOp(InternalDb.vendorList, (_i, { store }) => ({ vendors: store.catalogue.listVendors() })),
  defineOp(InternalDb.productCreate, (i, { store }) => store.catalogue.createProduct(i.vendor, i.code, i.name, i.eula ?? null)),
  defineOp(InternalDb.productList, (i, { store }) => ({ products: store.catalogue.listProducts(i.vendor ?? null) })),
  defineOp(InternalDb.productSetEula, (i, { store }) => store.catalogue.setProductEula(i.product, i.eula)),
  defineOp(InternalDb.releaseCreate, (i, { store }) => store.catalogue.createRelease(i.product, i.version, i.channel)),
  defineOp(InternalDb.releaseList, (i, { store }) => ({ releases: store.catalogue.listReleases(i.product) })),
  defineOp(InternalDb.artifactAdd, (i, { store }) => store.catalogue.addArtifact(i.product, i.version, i)),
  defineOp(InternalDb.releasePublish, (i, { store }) => store.catalogue.publish(i.product, i.version)),
  defineOp(InternalDb.releaseYank, (i, { store }) => store.catalogue.yank(i.product, i.version)),
];
