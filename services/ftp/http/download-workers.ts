import type { AddressInfo } from 'node:net';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { EndOptions } from '../common/end-options.js';
import type { CutoffSnapshot } from '../common/ticket-cutoffs.js';
import { WorkerLiveSessions, type LiveSession } from '../common/live-sessions.js';
import { WorkerProcesses } from '../../../lib/workers/worker-processes.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol.js';

export interface DownloadWorkersOptions {
  /** Worker processes to run (at least 1). */
  count: number;
  host: string;
  port: number;
  settings: Omit<WorkerSettings, 'workerId'>;
  /** The SHA-256 of a file a worker opened (the file host's digest index, or its hash pool). */
  digestOf: (realPath: string, stats: { dev: number; ino: number; size: number; mtimeMs: number }) => Promise<string>;
  onOutcome: (outcome: TransferOutcome) => void;
  log: Logger;
}

/**
 * The HTTP download workers (worker-main.ts), one per core by default, over WorkerProcesses: they
 * report transfer outcomes and ask for digests; the file host tells them when an area changed.
 */
export class DownloadWorkers {
  readonly #workers: WorkerProcesses<Omit<WorkerSettings, 'workerId'>, ToWorker, FromWorker>;
  readonly #live: WorkerLiveSessions;

  constructor(options: DownloadWorkersOptions) {
    this.#workers = new WorkerProcesses({
      name: 'download',
      script: new URL('./worker-main.js', import.meta.url),
      count: options.count,
      host: options.host,
      port: options.port,
      settings: options.settings,
      log: options.log,
      onMessage: (slot, message) => {
        if (this.#live.onMessage(message)) return;
        if (message.type === 'outcomes') for (const outcome of message.outcomes) options.onOutcome(outcome);
        else if (message.type === 'digest') {
          options.digestOf(message.realPath, message.stats).then(
            (sha256) => slot.send({ type: 'digest.reply', id: message.id, sha256 }),
            (err: Error) => slot.send({ type: 'digest.reply', id: message.id, error: err.message }),
          );
        }
      },
    });
    this.#live = new WorkerLiveSessions(
      (message) => this.#workers.broadcast(message),
      () => this.#workers.pids.length,
    );
  }

  /** The downloads being sent now, in every worker. */
  liveSessions(): Promise<LiveSession[]> {
    return this.#live.list();
  }

  /** Cuts off one download (by its live session id); false when no worker has it. */
  endSession(id: string, reason: string): Promise<boolean> {
    return this.#live.end(id, reason);
  }

  get address(): AddressInfo {
    return this.#workers.address;
  }

  get pids(): number[] {
    return this.#workers.pids;
  }

  start(): Promise<AddressInfo> {
    return this.#workers.start();
  }

  /** Tells every worker that a customer's area changed (their open-file caches drop its entries). */
  invalidate(customer: string): void {
    this.#workers.broadcast({ type: 'invalidate', customer });
  }

  /** Cuts off the customer's downloads in progress, in every worker (with `paths`: only those of these files). */
  endCustomer(customer: string, options: EndOptions = {}): void {
    this.#workers.broadcast({ type: 'end-customer', customer, ...(options.paths ? { paths: [...options.paths] } : {}) });
  }

  /** The ticket cut-offs changed: every worker gets them. */
  cutoffs(cutoffs: CutoffSnapshot): void {
    this.#workers.broadcast({ type: 'cut-offs', cutoffs });
  }

  /** Every worker drops its open-file cache. */
  invalidateAll(): void {
    this.#workers.broadcast({ type: 'invalidate-all' });
  }

  close(graceMs = 5000): Promise<void> {
    return this.#workers.close(graceMs);
  }
}
