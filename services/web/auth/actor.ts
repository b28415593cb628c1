import type { ChangeActor } from '../../../lib/contracts/internal-db/changes.js';
import type { WebContext } from '../http/context.js';
import type { Principal } from './principal.js';

/** The longest client address the change log keeps (lib/contracts/internal-db/changes.ts). */
const MAX_ADDRESS = 64;

/**
 * Who makes a change, for the change log (`by` of every mutating internal-db operation): an API
 * token by its id, a customer in the portal by its login; with the client's address as this web
 * host sees it (behind a trusted proxy, the forwarded one: cut to what the log keeps, so that a
 * forged header cannot make a change fail).
 */
export function actorOf(principal: Principal, ctx: WebContext): ChangeActor {
  const address = ctx.ip.slice(0, MAX_ADDRESS) || undefined;
  if (principal.via === 'token' && principal.tokenId !== undefined) return { kind: 'token', id: String(principal.tokenId), address };
  if (principal.kind === 'customer') return { kind: 'customer', id: principal.customer, address };
  return { kind: 'token', address };
}

/** A customer acting in the portal. */
export function customerActor(login: string, ctx: WebContext): ChangeActor {
  return { kind: 'customer', id: login, address: ctx.ip.slice(0, MAX_ADDRESS) || undefined };
}
