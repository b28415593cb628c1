import type { Body, Handler } from '../../lib/commlink/index.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';
import type { RequestIn } from '../../lib/contracts/operation.js';
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
    handlers.set(operation.name, async (body) => {
      if (operation !== InternalDb.changesNext) return (await db.ask(operation, checkedRequest(operation, body), 15_000)) as Body;
      // changes.next may wait for a change (waitMs) before the internal-db answers: checked once, forwarded as it came.
      const { waitMs } = parseRequest(InternalDb.changesNext, body);
      const reply = await db.ask(InternalDb.changesNext, body as RequestIn<typeof InternalDb.changesNext>, 15_000 + waitMs);
      return { ...reply, changes: reply.changes.map(withoutWho) } as Body;
    });
  }
  handlers.set(fileHostRegister.name, (body, ctx) => {
    const { name, ...urls } = parseRequest(fileHostRegister, body);
    const entry = fileHosts.register(ctx.peer, name, urls);
    return { registered: entry.name, at: entry.since.toISOString() };
  });
  return handlers;
}

/**
 * A change as a file host gets it: what changed, not who changed it from where (a file host acts on
 * the subject alone, and the client addresses of people do not belong in the DMZ).
 */
function withoutWho(change: InternalDb.Change): InternalDb.Change {
  return { ...change, actor: { kind: change.actor.kind } };
}
