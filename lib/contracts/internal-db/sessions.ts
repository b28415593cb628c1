import { actorField } from './changes.js';
import { z } from 'zod';
import { isoTime, login } from '../names.js';
import { defineOperation } from '../operation.js';
import { storedName } from './shapes.js';

/** A portal session's id (random, in its signed cookie). */
export const sessionId = z.string().regex(/^[A-Za-z0-9_-]{22,64}$/, 'a session id');

export const sessionCheck = defineOperation({
  name: 'session.check',
  summary:
    "Checks a portal session on each request: the customer exists and is not disabled, the session was not signed out, and it started after the customer's " +
    'sessions were last ended (a password change, a disable). Refused: ERR_AUTH_REFUSED.',
  request: z.strictObject({ login, sid: sessionId, startedAt: isoTime }),
  reply: z.strictObject({ login: storedName, name: z.string() }),
});

export const sessionEnd = defineOperation({
  name: 'session.end',
  summary: 'Ends a portal session (sign-out) on every web host, until it would have expired.',
  request: z.strictObject({ ...actorField, login, sid: sessionId, expiresAt: isoTime }),
  reply: z.strictObject({ ended: z.literal(true) }),
});
