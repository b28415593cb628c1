import { CommlinkError, RemoteError, type Body } from '../../lib/commlink/index.js';
import { LINK_CODES, WebErrors } from './errors.js';

export type RequestOutcome = 'ok' | 'error' | 'unavailable';
/** Told each request's round trip (the web host's commlink-latency metric). */
export type ObserveRequest = (op: string, seconds: number, outcome: RequestOutcome) => void;

/**
 * One request to a peer of the web host (the internal-db, a file host), timed for `observe`. The
 * peer's own answers (ERR_NOT_FOUND …) pass through with their codes; a link that broke on the way
 * becomes ERR_GATEWAY_UNAVAILABLE, naming `who` did not answer.
 */
export async function askPeer(op: string, who: string, send: () => Promise<Body>, observe: ObserveRequest | undefined, details: Record<string, unknown> = {}): Promise<Body> {
  const started = performance.now();
  try {
    const reply = await send();
    observe?.(op, (performance.now() - started) / 1000, 'ok');
    return reply;
  } catch (err) {
    const answered = err instanceof RemoteError && !LINK_CODES.has(err.code);
    observe?.(op, (performance.now() - started) / 1000, answered ? 'error' : 'unavailable');
    if (answered) throw err;
    if (err instanceof CommlinkError) throw WebErrors.GATEWAY_UNAVAILABLE(`${op}: ${who} did not answer (${err.code})`, { cause: err.code, ...details });
    throw err;
  }
}
