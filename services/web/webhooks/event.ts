import type { Change } from '../../../lib/contracts/internal-db/changes.js';
import type { WebhookEvent } from '../../../lib/contracts/internal-db/webhooks.js';

/** What a delivery's body says of its change. */
export interface WebhookPayload {
  /** The change's sequence, as a string: the same for every attempt (the receiver's idempotency key). */
  id: string;
  type: WebhookEvent;
  createdAt: string;
  data: Record<string, string | number>;
}

/** The subject fields of a change that an event carries (never who made it, nor from where). */
const DATA_FIELDS = ['customer', 'vendor', 'product', 'version', 'filename', 'entitlementId', 'protocol', 'bytes'] as const;

/** The JSON body of the delivery of `change`: a function of the change alone, so every attempt sends the same bytes. */
export function payloadOf(change: Change, type: WebhookEvent): string {
  const data: Record<string, string | number> = {};
  for (const field of DATA_FIELDS) {
    const value = change[field];
    if (value !== undefined) data[field] = value;
  }
  const payload: WebhookPayload = { id: String(change.seq), type, createdAt: change.at, data };
  return JSON.stringify(payload);
}
