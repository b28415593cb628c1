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

export const auditOps = [
  defineOp(
    'audit.record',
    'Records a batch of download outcomes in one transaction (idempotent by eventId).',
    z.strictObject({ events: z.array(event).min(1).max(10_000) }),
    (i, { store }) =>
      store.transaction(() => {
        const events = i.events.map((e, n) => {
          const customer = store.customers.find(e.customer);
          if (!customer) throw DbErrors.NOT_FOUND(`events.${n}.customer: no customer "${e.customer}"`, { field: `events.${n}.customer` });
          return { ...e, customerId: customer.id, at: new Date(e.at).toISOString() };
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
