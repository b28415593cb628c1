import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import type { RequestOut } from '../../../lib/contracts/operation.js';
import type { DownloadEvent } from '../store/audit.js';
import { defineOp } from './define.js';

const { InternalDbErrors, COMPACT_LINE } = InternalDb;
type CompactGroup = RequestOut<typeof InternalDb.auditRecordCompact>['groups'][number];

/** The events of one compact group: a line per transfer, `<id> <bytes> <durationMs> <c|a> <epoch ms>`. */
function expandGroup(group: CompactGroup, customerId: number, n: number): DownloadEvent[] {
  return group.events.split('\n').map((line, m) => {
    const match = COMPACT_LINE.exec(line);
    const atMs = match ? Number(match[5]) : NaN;
    if (!match || !(atMs < 8.64e15))
      throw InternalDbErrors.INVALID_INPUT(`audit.recordCompact: groups.${n}.events line ${m + 1} is not "<id> <bytes> <ms> <c|a> <epoch ms>"`, {
        field: `groups.${n}.events`,
      });
    return {
      eventId: `${group.idPrefix}:${match[1]}`,
      customerId,
      artifactId: group.artifactId,
      path: group.path,
      protocol: group.protocol,
      clientAddress: group.clientAddress,
      bytes: Number(match[2]),
      durationMs: Number(match[3]),
      outcome: match[4] === 'c' ? 'complete' : 'aborted',
      at: new Date(atMs).toISOString(),
    };
  });
}

export const auditOps = [
  defineOp(InternalDb.auditRecord, (i, { store }) =>
    store.transaction(() => {
      const ids = new Map<string, number>(); // a batch is mostly a few customers' transfers
      const events = i.events.map((e, n) => {
        let customerId = ids.get(e.customer);
        if (customerId === undefined) {
          const customer = store.customers.find(e.customer);
          if (!customer) throw InternalDbErrors.NOT_FOUND(`events.${n}.customer: no customer "${e.customer}"`, { field: `events.${n}.customer` });
          ids.set(e.customer, (customerId = customer.id));
        }
        return { ...e, customerId, at: new Date(e.at).toISOString() };
      });
      return { recorded: store.audit.record(events), received: events.length };
    }),
  ),
  defineOp(InternalDb.auditRecordCompact, (i, { store }) =>
    store.transaction(() => {
      const events = i.groups.flatMap((group, n) => {
        const customer = store.customers.find(group.customer);
        if (!customer) throw InternalDbErrors.NOT_FOUND(`groups.${n}.customer: no customer "${group.customer}"`, { field: `groups.${n}.customer` });
        return expandGroup(group, customer.id, n);
      });
      return { recorded: store.audit.record(events), received: events.length };
    }),
  ),
  defineOp(InternalDb.auditQuery, (i, { store }) => {
    const filter = {
      customerId: i.customer === undefined ? undefined : store.customers.get(i.customer).id,
      protocol: i.protocol,
      outcome: i.outcome,
      since: i.since === undefined ? undefined : new Date(i.since).toISOString(),
      until: i.until === undefined ? undefined : new Date(i.until).toISOString(),
    };
    const { items, next } = store.audit.query(filter, i);
    return { events: items, next };
  }),
];
