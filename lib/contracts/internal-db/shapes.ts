import { z } from 'zod';
import { id, isoTime, login, protocol, sha256 } from '../names.js';

/**
 * The shapes that several operations (and the services on both ends) share, declared once.
 * Replies are strict: a field the contract does not name is a fault of the replying side. Names in
 * replies are checked for their type only: the name rules (names.ts) guard what enters the system,
 * and a name stored under an older rule must not make a whole list unreadable.
 */

/** A stored name (product code, version, file name, platform …) as a reply carries it. */
export const storedName = z.string().min(1);
const nullableTime = isoTime.nullable();

/** An entitlement as listed, with its status now. */
export const entitlement = z.strictObject({
  id,
  product: storedName,
  range: z.string(),
  startsAt: isoTime,
  expiresAt: nullableTime,
  onExpiry: z.enum(['keep', 'revoke']),
  status: z.enum(['pending', 'active', 'expired-keep', 'expired', 'revoked']),
});

/** A release a customer may have now (auth.check). */
export const grantedRelease = z.strictObject({ product: storedName, version: storedName });

/** A file of a release: its name, size, SHA-256, platform and arch, and the repository object (its SHA-256) holding its bytes. */
const artifactFields = {
  filename: storedName,
  size: z.int().min(0),
  sha256,
  platform: storedName,
  arch: storedName,
  objectId: sha256,
};

/** An artifact of a release, as the catalogue holds it. */
export const artifact = z.strictObject({ id, ...artifactFields });

/** An artifact a customer may download now, with its release and whether a EULA stands before it. */
export const resolvedArtifact = z.strictObject({
  product: storedName,
  version: storedName,
  channel: storedName,
  publishedAt: isoTime,
  artifactId: id,
  ...artifactFields,
  eulaId: id.nullable(),
  eulaAccepted: z.boolean(),
});
export type ResolvedArtifact = z.output<typeof resolvedArtifact>;

export const auditEventId = z.string().regex(/^[A-Za-z0-9._:-]{8,128}$/, 'a unique id of 8-128 characters [A-Za-z0-9._:-]');
export const clientAddress = z.string().min(1).max(64);
export const outcome = z.enum(['complete', 'aborted']);

/** One transfer's outcome (a download, complete or cut off), as file hosts report it. */
export const auditEvent = z.strictObject({
  eventId: auditEventId,
  customer: login,
  artifactId: id.nullable().default(null),
  path: z.string().min(1).max(4096),
  protocol,
  clientAddress,
  bytes: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  durationMs: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  outcome,
  at: isoTime,
});
export type AuditEvent = z.input<typeof auditEvent>;

/** A recorded transfer, as audit.query lists it. */
export const recordedEvent = auditEvent.extend({ customer: storedName, artifactId: id.nullable() });
