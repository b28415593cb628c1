import type { Body, Handler } from '../../lib/commlink/index.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';
import { checkedRequest, parseRequest } from '../../lib/contracts/serve.js';
import { FORWARDED_OPERATIONS, fileHostRegister } from '../../lib/contracts/web-gateway.js';
import type { FileHostRegistry } from './file-hosts.js';
import type { InternalDbLink } from './internal-db-link.js';

/**
 * The handlers this web host serves to file hosts on its commlink port: their registration, and
 * the internal-db operations forwarded for them (lib/contracts/web-gateway.ts). A forwarded request
 * is checked against its contract here first, so a faulty or compromised file host's malformed
 * request goes no further; the internal-db's reply is checked again on its way back.
 */
export function gatewayHandlers(db: InternalDbLink, fileHosts: FileHostRegistry): Map<string, Handler> {
  const handlers = new Map<string, Handler>();
  for (const operation of FORWARDED_OPERATIONS) {
    // The reply was parsed by its contract: an object of tobj values, passed back as it came.
    handlers.set(operation.name, (body) => {
      const request = checkedRequest(operation, body);
      // changes.next may wait for a change (waitMs) before the internal-db answers.
      const waitMs = operation === InternalDb.changesNext ? parseRequest(InternalDb.changesNext, body).waitMs : 0;
      return db.ask(operation, request, 15_000 + waitMs) as Promise<Body>;
    });
  }
  handlers.set(fileHostRegister.name, (body, ctx) => {
    const { name, ...urls } = parseRequest(fileHostRegister, body);
    const entry = fileHosts.register(ctx.peer, name, urls);
    return { registered: entry.name, at: entry.since.toISOString() };
  });
  return handlers;
}
