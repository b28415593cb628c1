import { EventEmitter } from 'node:events';
import { requireConnected } from '../../../lib/contracts/ask.js';
import type { Operation, ReplyOut, RequestIn } from '../../../lib/contracts/operation.js';
import { untilConnected, type InternalDbAsk } from '../internal-db-ask.js';
import type { IpcCalls } from './ipc-calls.js';

/** How much longer than the internal-db's own timeout a worker waits for the primary's answer. */
const IPC_SLACK_MS = 2000;

/**
 * A worker's way to the internal-db: through the primary, which holds the one link. `ask` sends
 * the operation's name and body; the primary looks the operation up among the internal-db's
 * contracts, asks, and sends back the parsed reply or the error (its code kept). `connected` is
 * the primary's link as last pushed.
 *
 * Events: 'up', 'down'.
 */
export class WorkerDbLink extends EventEmitter implements InternalDbAsk {
  readonly #calls: IpcCalls;
  #connected = false;

  constructor(calls: IpcCalls) {
    super();
    this.#calls = calls;
  }

  get connected(): boolean {
    return this.#connected;
  }

  /** The primary's link went up or down. */
  setConnected(up: boolean): void {
    if (up === this.#connected) return;
    this.#connected = up;
    this.emit(up ? 'up' : 'down');
  }

  waitConnected(timeoutMs: number): Promise<boolean> {
    return untilConnected(this, timeoutMs);
  }

  ask<O extends Operation>(operation: O, body: RequestIn<O>, timeoutMs = 10_000): Promise<ReplyOut<O>> {
    requireConnected(this.connected, 'the internal-db', operation);
    return this.#calls.call<ReplyOut<O>>('db.ask', { op: operation.name, body, timeoutMs }, timeoutMs + IPC_SLACK_MS);
  }
}
