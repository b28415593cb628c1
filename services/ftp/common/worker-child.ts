import type { Server as NetServer } from 'node:net';
import type { Logger } from '../../../lib/log/logger.js';
import { runWorker as runWorkerProcess, sendToParent, type WorkerServer } from '../../../lib/workers/worker-child.js';
import type { TransferOutcome } from './audit-reporter.js';

/**
 * The file host's workers (HTTP downloads, SFTP) on lib/workers' life cycle, with what they share
 * here: transfer outcomes sent to the parent in batches.
 */

export { parentLogger, sendToParent, type WorkerServer } from '../../../lib/workers/worker-child.js';

/** Transfer outcomes, sent to the parent every `flushMs` or 200 at a time. */
export class OutcomeBatch {
  #outcomes: TransferOutcome[] = [];

  constructor(flushMs: number) {
    setInterval(() => this.flush(), flushMs).unref();
  }

  report(outcome: TransferOutcome): void {
    this.#outcomes.push(outcome);
    if (this.#outcomes.length >= 200) this.flush();
  }

  flush(): void {
    if (this.#outcomes.length === 0) return;
    sendToParent({ type: 'outcomes', outcomes: this.#outcomes });
    this.#outcomes = [];
  }
}

/**
 * Runs a transfer worker: `start` is called with the settings, the listening socket the parent
 * hands over and the outcome batch, and must resolve once it serves; `onMessage` gets the kind's
 * own messages. Outcomes still held are sent before the worker exits.
 */
export function runWorker<Settings>(options: {
  name: string;
  start: (settings: Settings & { workerId: number }, socket: NetServer, log: Logger, outcomes: OutcomeBatch) => Promise<WorkerServer>;
  outcomeFlushMs: (settings: Settings) => number;
  onMessage?: (message: { type: string } & Record<string, unknown>) => void;
}): void {
  let outcomes: OutcomeBatch | undefined;
  runWorkerProcess<Settings>({
    name: options.name,
    start: (settings, socket, log) => {
      outcomes = new OutcomeBatch(options.outcomeFlushMs(settings));
      return options.start(settings, socket, log, outcomes);
    },
    ...(options.onMessage ? { onMessage: options.onMessage } : {}),
    beforeExit: () => outcomes?.flush(),
  });
}
