import type { Operation, ReplyOut, RequestIn } from '../../lib/contracts/operation.js';

/**
 * What the web code needs of its way to the internal-db: asking by contract, and whether the way
 * is up. InternalDbLink is it in the primary (or the one process); a worker process's
 * WorkerDbLink asks the primary over IPC (services/web/workers/).
 *
 * Events: 'up', 'down'.
 */
export interface InternalDbAsk {
  readonly connected: boolean;
  /** Resolves true once connected, false after `timeoutMs`. */
  waitConnected(timeoutMs: number): Promise<boolean>;
  /** Asks the internal-db; its own errors pass through with their codes, a request that does not get through is ERR_GATEWAY_UNAVAILABLE. */
  ask<O extends Operation>(operation: O, body: RequestIn<O>, timeoutMs?: number): Promise<ReplyOut<O>>;
  on(event: 'up' | 'down', listener: () => void): this;
  once(event: 'up' | 'down', listener: () => void): this;
  off(event: 'up' | 'down', listener: () => void): this;
}
