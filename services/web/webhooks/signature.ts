import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * X-FFS-Signature: `t=<unix seconds>,v1=<hex HMAC-SHA-256 of "<t>.<raw body>" keyed with the
 * endpoint's secret>` (Stripe's scheme). The timestamp is signed with the body, so a receiver that
 * refuses old timestamps refuses replays; services/web/WEBHOOKS.md shows how to verify it.
 */
export const SIGNATURE_HEADER = 'X-FFS-Signature';

/** The hex HMAC-SHA-256 of `<timestamp>.<body>`. */
export function signatureOf(secret: string, timestamp: number, body: string): string {
  return createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex');
}

/** The header value for `body` signed at `timestamp` (unix seconds). */
export function signatureHeader(secret: string, timestamp: number, body: string): string {
  return `t=${timestamp},v1=${signatureOf(secret, timestamp, body)}`;
}

/**
 * Verifies a signature header as a receiver would: the header parses, one of its v1 values is the
 * HMAC of `<t>.<body>` (compared in constant time), and t is within `toleranceSeconds` of `now`.
 * Returns why not, or undefined when it verifies.
 */
export function signatureProblem(secret: string, header: string, body: string, toleranceSeconds = 300, now = Date.now()): string | undefined {
  const parts = header.split(',').map((p) => p.trim().split('='));
  const t = parts.find(([k]) => k === 't')?.[1];
  const v1s = parts.filter(([k, v]) => k === 'v1' && v !== undefined).map(([, v]) => v!);
  if (t === undefined || !/^[0-9]{1,12}$/.test(t) || v1s.length === 0) return 'malformed signature header';
  if (Math.abs(now / 1000 - Number(t)) > toleranceSeconds) return 'timestamp outside the tolerance';
  const expected = Buffer.from(signatureOf(secret, Number(t), body), 'hex');
  const match = v1s.some((v) => /^[0-9a-f]{64}$/.test(v) && timingSafeEqual(Buffer.from(v, 'hex'), expected));
  return match ? undefined : 'signature mismatch';
}
