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

/** Resolves true once `link` is connected (at once if it is), false after `timeoutMs`: the one waitConnected. */
export function untilConnected(link: InternalDbAsk, timeoutMs: number): Promise<boolean> {
  if (link.connected) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => {
      link.off('up', onUp);
      resolve(false);
    }, timeoutMs);
    const onUp = () => {
      clearTimeout(timer);
      resolve(true);
    };
    link.once('up', onUp);
  });
}
