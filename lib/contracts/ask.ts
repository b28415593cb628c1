import { Errors, isLinkFailure, type Body, type RequestOptions } from '../commlink/index.js';
import { CommonErrors } from '../errors/index.js';
import { firstProblem } from '../validation/input.js';
import type { Operation, ReplyOut, RequestIn } from './operation.js';

/** Anything that sends a commlink request: a client, a peer. */
export interface LinkEnd {
  request(op: string, body: Body, options?: RequestOptions): Promise<Body>;
}

export type RequestOutcome = 'ok' | 'error' | 'unavailable';
/** Told each request's round trip (a latency metric by peer, operation and outcome). */
export type ObserveRequest = (op: string, seconds: number, outcome: RequestOutcome) => void;

export interface AskOptions extends RequestOptions {
  /** Who is asked, for messages: "the internal-db", "file host file-1", "the web host". */
  readonly who: string;
  readonly observe?: ObserveRequest | undefined;
  /** Added to the details of ERR_GATEWAY_UNAVAILABLE (the host's name …). */
  readonly details?: Record<string, unknown>;
}

/**
 * Asks a peer over the commlink, by contract. The peer's own answers (ERR_NOT_FOUND …) pass
 * through with their codes; a request that did not get through (the link here or a hop beyond
 * broke: isLinkFailure) is ERR_GATEWAY_UNAVAILABLE naming `who`; a reply that does not match the
 * contract is ERR_REPLY_INVALID naming the field. What the caller gets is the parsed reply.
 */
export async function ask<O extends Operation>(end: LinkEnd, operation: O, body: RequestIn<O>, options: AskOptions): Promise<ReplyOut<O>> {
  const { who, observe, details, ...requestOptions } = options;
  const started = performance.now();
  let raw: Body;
  try {
    // The request's optional fields may be undefined; the tobj encoder leaves them out.
    raw = await end.request(operation.name, body as Body, requestOptions);
  } catch (err) {
    const failed = isLinkFailure(err);
    observe?.(operation.name, (performance.now() - started) / 1000, failed ? 'unavailable' : 'error');
    if (failed) throw CommonErrors.GATEWAY_UNAVAILABLE(`${operation.name}: ${who} did not answer (${err.code})`, { cause: err.code, ...details });
    throw err;
  }
  observe?.(operation.name, (performance.now() - started) / 1000, 'ok');
  return parseReply(operation, raw, who);
}

/** The reply parsed against the contract, or ERR_REPLY_INVALID naming the field. */
export function parseReply<O extends Operation>(operation: O, raw: unknown, who: string): ReplyOut<O> {
  const parsed = operation.reply.safeParse(raw);
  if (!parsed.success) {
    const { field, what } = firstProblem(parsed.error);
    throw Errors.REPLY_INVALID(`${operation.name}: the reply of ${who} does not match the contract (${what})`, { field, operation: operation.name });
  }
  return parsed.data as ReplyOut<O>;
}

/** Fails at once when a link is down: a caller (a login, a page) must not wait for a dial. */
export function requireConnected(connected: boolean, who: string, operation: Operation, observe?: ObserveRequest): void {
  if (connected) return;
  observe?.(operation.name, 0, 'unavailable');
  throw CommonErrors.GATEWAY_UNAVAILABLE(`${who} is not connected`);
}
