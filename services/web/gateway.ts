import { z } from 'zod';
import type { Handler } from '../../lib/commlink/index.js';
import { firstProblem } from '../../lib/validation/input.js';
import { WebErrors } from './errors.js';
import type { FileHostRegistry } from './file-hosts.js';
import type { InternalDbLink } from './internal-db-link.js';

/**
 * The internal-db operations a file host may ask for, through this web host: the only path from
 * the file host to the internal-db. Anything else (creating customers, granting entitlements …)
 * is not forwarded: a compromised file host can check logins and report transfers, no more.
 */
export const FORWARDED_OPS = ['auth.check', 'release.resolve', 'entitlements.list', 'audit.record', 'audit.recordCompact'] as const;

const registration = z.strictObject({
  name: z.string().regex(/^[a-z0-9][a-z0-9.-]{0,62}$/),
  httpUrl: z.string().regex(/^https?:\/\/[^\s/?#]+$/),
  ftpUrl: z.string().regex(/^ftps?:\/\/[^\s/?#@]+$/).optional(),
  sftpUrl: z.string().regex(/^sftp:\/\/[^\s/?#@]+$/).optional(),
});

/** The handlers this web host serves to file hosts on its commlink port. */
export function gatewayHandlers(db: InternalDbLink, fileHosts: FileHostRegistry): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  for (const op of FORWARDED_OPS) handlers.set(op, (body) => db.request(op, body, 15_000));
  handlers.set('filehost.register', (body, ctx) => {
    const parsed = registration.safeParse(body);
    if (!parsed.success) {
      const { field, what } = firstProblem(parsed.error);
      throw WebErrors.INVALID_INPUT(`filehost.register: ${what}`, { field });
    }
    const entry = fileHosts.register(ctx.peer, parsed.data.name, parsed.data);
    return { registered: entry.name, at: entry.since.toISOString() };
  });
  return handlers;
}
