import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import { defineOp } from './define.js';

/** Webhook endpoints (registered through the web host's API) and their delivery by web hosts (lease, pending, report). */
export const webhookOps = [
  defineOp(InternalDb.webhookCreate, (i, { store }) => store.webhooks.create(i, i.by)),
  defineOp(InternalDb.webhookList, (i, { store }) => {
    const { items, next } = store.webhooks.list(i, i);
    return { webhooks: items, next };
  }),
  defineOp(InternalDb.webhookGet, (i, { store }) => store.webhooks.get(i.id)),
  defineOp(InternalDb.webhookDelete, (i, { store }) => {
    store.webhooks.remove(i.id);
    return { id: i.id, deleted: true as const };
  }),
  defineOp(InternalDb.webhookEnable, (i, { store }) => store.webhooks.enable(i.id)),
  defineOp(InternalDb.webhookDeliveries, (i, { store }) => {
    const { items, next } = store.webhooks.deliveries(i.id, i);
    return { deliveries: items, next };
  }),
  defineOp(InternalDb.webhookLease, (i, { store }) => ({ webhooks: store.webhooks.lease(i.holder, i.ttlMs, i.limit) })),
  defineOp(InternalDb.webhookRelease, (i, { store }) => ({ released: store.webhooks.release(i.holder) })),
  defineOp(InternalDb.webhookPending, (i, { store }) => store.webhooks.pending(i.holder, i.id, i.limit)),
  defineOp(InternalDb.webhookReport, (i, { store }) => store.webhooks.report(i)),
  defineOp(InternalDb.webhookPrune, (i, { store }) => ({ deleted: store.webhooks.prune(i.keepMs) })),
];
