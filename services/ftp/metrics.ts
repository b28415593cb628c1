import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { LIVE_PROTOCOLS, type LiveSession } from '../../lib/contracts/file-host/operations.js';
import type { TransferOutcome } from './common/audit-reporter.js';

/**
 * The file host's metrics, in one registry of its own (several file hosts may live in one process
 * in tests), served at /metrics on its operations listener (ops-http.ts): live sessions by
 * protocol (asked of this process and its workers at each scrape), bytes served and transfers by
 * protocol and outcome (counted from each transfer's outcome when it ends, workers' too: their
 * outcomes come to this process for the audit), and the process's own (event-loop delay, memory,
 * CPU; the workers' processes are not in them).
 */
export class FileHostMetrics {
  readonly registry = new Registry();
  readonly #bytes: Counter<'protocol'>;
  readonly #transfers: Counter<'protocol' | 'outcome'>;

  /** `live` answers the sessions open now (in this process and the workers). */
  constructor(live: () => Promise<LiveSession[]>) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    new Gauge({
      name: 'ffs_file_host_sessions',
      help: 'Live sessions by protocol: FTP and SFTP connections logged in, HTTP downloads being sent (worker processes included).',
      labelNames: ['protocol'],
      registers,
      async collect() {
        const counts = new Map<string, number>(LIVE_PROTOCOLS.map((p) => [p, 0]));
        for (const s of await live()) counts.set(s.protocol, (counts.get(s.protocol) ?? 0) + 1);
        for (const [protocol, n] of counts) this.set({ protocol }, n);
      },
    });
    this.#bytes = new Counter({
      name: 'ffs_file_host_bytes_served_total',
      help: 'Bytes of files sent to clients, by protocol; a transfer counts when it ends (complete or aborted).',
      labelNames: ['protocol'],
      registers,
    });
    this.#transfers = new Counter({
      name: 'ffs_file_host_transfers_total',
      help: 'Transfers (FTP RETR, SFTP file read, HTTP download body) by protocol and outcome (complete, aborted), counted when they end.',
      labelNames: ['protocol', 'outcome'],
      registers,
    });
    for (const protocol of LIVE_PROTOCOLS) {
      this.#bytes.inc({ protocol }, 0);
      for (const outcome of ['complete', 'aborted']) this.#transfers.inc({ protocol, outcome }, 0);
    }
  }

  /** A transfer ended (in this process or a worker). */
  transfer(outcome: TransferOutcome): void {
    this.#bytes.inc({ protocol: outcome.protocol }, outcome.bytes);
    this.#transfers.inc({ protocol: outcome.protocol, outcome: outcome.outcome });
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.registry.clear();
  }
}
