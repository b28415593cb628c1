import { z } from 'zod';
import { defineOperation } from '../operation.js';
import { pageReply, pageRequest } from '../page.js';
import { id, isoTime, login, protocol } from '../names.js';
import { auditEvent, clientAddress, outcome, recordedEvent } from './shapes.js';

/** Transfers of one customer, artifact, path, protocol and address, sent as text lines (audit.recordCompact). */
export const compactGroup = z.strictObject({
  customer: login,
  artifactId: id.nullable().default(null),
  path: z.string().min(1).max(4096),
  protocol,
  clientAddress,
  idPrefix: z.string().regex(/^[A-Za-z0-9._-]{8,100}$/, '8-100 characters [A-Za-z0-9._-]'),
  /** One line per transfer: `<id> <bytes> <durationMs> <c|a> <epoch ms>`, joined by LF. */
  events: z.string().min(1).max(1_000_000),
});
export type CompactGroup = z.input<typeof compactGroup>;

/** One line of a compact group: `<id> <bytes> <durationMs> <c|a> <epoch ms>` (id in base 36). */
export const COMPACT_LINE = /^([0-9a-z]{1,20}) (\d{1,16}) (\d{1,16}) ([ca]) (\d{1,16})$/;

const recorded = z.strictObject({ recorded: z.int().min(0), received: z.int().min(0) });

export const auditRecord = defineOperation({
  name: 'audit.record',
  summary:
    'Records a batch of download outcomes in one transaction (idempotent by eventId). ' +
    'An event without an artifactId gets the id of the artifact its path names (/product/version/filename), if there is one.',
  request: z.strictObject({ events: z.array(auditEvent).min(1).max(10_000) }),
  reply: recorded,
});

export const auditRecordCompact = defineOperation({
  name: 'audit.recordCompact',
  summary:
    'audit.record for file hosts: transfers grouped by customer, artifact, path, protocol and address, one text line each ' +
    '(far cheaper to send and parse); a group without an artifactId gets the one its path names, as in audit.record.',
  request: z.strictObject({ groups: z.array(compactGroup).min(1).max(10_000) }),
  reply: recorded,
});

export const auditQuery = defineOperation({
  name: 'audit.query',
  summary: 'Download events, newest first, filtered by customer, protocol, outcome and time, a page at a time.',
  request: z.strictObject({
    customer: login.optional(),
    protocol: protocol.optional(),
    outcome: outcome.optional(),
    since: isoTime.optional(),
    until: isoTime.optional(),
    ...pageRequest,
  }),
  reply: pageReply('events', recordedEvent),
});
