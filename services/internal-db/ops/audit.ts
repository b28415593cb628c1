import { z } from 'zod';
import { DbErrors } from '../errors.js';
import { defineOp, login, protocol } from './define.js';

const event = z.strictObject({
  eventId: z.string().regex(/^[A-Za-z0-9._:-]{8,128}$/, 'a unique id of 8-128 characters [A-Za-z0-9._:-]'),
  customer: login,
  artifactId: z.int().min(1).nullable().default(null),
  path: z.string().min(1).max(4096),
  protocol,
  clientAddress: z.string().min(1).max(64),
  bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  durationMs: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  outcome: z.enum(['complete', 'aborted']),
  at: z.iso.datetime({ offset: true }),
});

const compactGroup = z.strictObject({
  customer: login,
  artifactId: z.int().min(1).nullable().default(null),
  path: z.string().min(1).max(4096),
  protocol,
  clientAddress: z.string().min(1).max(64),
  idPrefix: z.string().regex(/^[A-Za-z0-9._-]{8,100}$/, '8-100 characters [A-Za-z0-9._-]'),
  events: z.string().min(1).max(1_000_000),
});

const COMPACT_LINE = /^([0-9a-z]{1,20}) (\d{1,16}) (\d{1,16}) ([ca]) (\d{1,16})$/;

/** The events of one compact group: a line per transfer, `<id> <bytes> <durationMs> <c|a> <epoch ms>`. */
function expandGroup(group: z.output<typeof compactGroup>, customerId: number, n: number) {
  return group.events.split('\n').map((line, m) => {
    const match = COMPACT_LINE.exec(line);
    const atMs = match ? Number(match[5]) : NaN;
    if (!match || !(atMs < 8.64e15)) throw DbErrors.INVALID_INPUT(`audit.recordCompact: groups.${n}.events line ${m + 1} is not "<id> <bytes> <ms> <c|a> <epoch ms>"`, { field: `groups.${n}.events` });
    return {
      eventId: `${group.idPrefix}:${match[1]}`,
      customerId,
      artifactId: group.artifactId,
      path: group.path,
      protocol: group.protocol,
      clientAddress: group.clientAddress,
      bytes: Number(match[2]),
      durationMs: Number(match[3]),
      outcome: match[4] === 'c' ? ('complete' as const) : ('aborted' as const),
      at: new Date(atMs).toISOString(),
    };
  });
}

export const auditOps = [
  defineOp(
    'audit.record',
    'Records a batch of download outcomes in one transaction (idempotent by eventId).',
    z.strictObject({ events: z.array(event).min(1).max(10_000) }),
    (i, { store }) =>
      store.transaction(() => {
        const ids = new Map<string, number>(); // a batch is mostly a few customers' transfers
        const events = i.events.map((e, n) => {
          let customerId = ids.get(e.customer);
          if (customerId === undefined) {
            const customer = store.customers.find(e.customer);
            if (!customer) throw DbErrors.NOT_FOUND(`events.${n}.customer: no customer "${e.customer}"`, { field: `events.${n}.customer` });
            ids.set(e.customer, (customerId = customer.id));
          }
          return { ...e, customerId, at: new Date(e.at).toISOString() };
        });
        return { recorded: store.audit.record(events), received: events.length };
      }),
  ),
  defineOp(
    'audit.recordCompact',
    'audit.record for file hosts: transfers grouped by customer, artifact, path, protocol and address, one text line each (far cheaper to send and parse).',
    z.strictObject({ groups: z.array(compactGroup).min(1).max(10_000) }),
    (i, { store }) =>
      store.transaction(() => {
        const events = i.groups.flatMap((group, n) => {
          const customer = store.customers.find(group.customer);
          if (!customer) throw DbErrors.NOT_FOUND(`groups.${n}.customer: no customer "${group.customer}"`, { field: `groups.${n}.customer` });
          return expandGroup(group, customer.id, n);
        });
        return { recorded: store.audit.record(events), received: events.length };
      }),
  ),
  defineOp(
    'audit.query',
    'Download events, newest first, filtered by customer, protocol, outcome and time.',
    z.strictObject({
      customer: login.optional(),
      protocol: protocol.optional(),
      outcome: z.enum(['complete', 'aborted']).optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      limit: z.int().min(1).max(10_000).default(100),
    }),
    (i, { store }) => ({
      events: store.audit.query({
        customerId: i.customer === undefined ? undefined : store.customers.get(i.customer).id,
        protocol: i.protocol,
        outcome: i.outcome,
        since: i.since === undefined ? undefined : new Date(i.since).toISOString(),
        until: i.until === undefined ? undefined : new Date(i.until).toISOString(),
        limit: i.limit,
      }),
    }),
  ),
];
