import type { LogLevel } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { CutoffSnapshot } from '../common/ticket-cutoffs.js';
import type { LiveFromWorker, LiveToWorker } from '../common/live-sessions.js';

/**
 * Messages between the file host and its HTTP download workers (child processes sharing one
 * listening socket). The worker holds no secret: it verifies tickets with the public key and reads
 * the customer areas; outcomes and logs go to the file host, which owns the audit and the log.
 */
export interface WorkerSettings {
  workerId: number;
  areasDir: string;
  ticketPublicKeyPem: string;
  ticketCacheEntries: number;
  openFileCacheMs: number;
  /** A body the client takes no byte of for this long (ms) is cut off (services.ftp.transferIdleSeconds). */
  transferIdleMs: number;
  /** How often the worker sends its transfer outcomes, in ms. */
  outcomeFlushMs: number;
  /** The ticket cut-offs when the worker starts (a replaced worker gets the current ones). */
  cutoffs: CutoffSnapshot;
}

export interface DigestStats {
  dev: number;
  ino: number;
  size: number;
  mtimeMs: number;
}

export type ToWorker =
  | { type: 'init'; settings: WorkerSettings } // sent with the listening socket
  | { type: 'invalidate'; customer: string }
  /** The customer's access ended: cut off its downloads in progress (with `paths`: only those of these files). */
  | { type: 'end-customer'; customer: string; paths?: string[] }
  /** The ticket cut-offs now (sent whenever they change, and at each worker's start in its settings). */
  | { type: 'cut-offs'; cutoffs: CutoffSnapshot }
  /** Drop every cached open file (the change feed was reset). */
  | { type: 'invalidate-all' }
  | { type: 'digest.reply'; id: number; sha256?: string; error?: string }
  | { type: 'handle.request' }
  | { type: 'close'; graceMs: number }
  | LiveToWorker;

export type FromWorker =
  | { type: 'booted' }
  | { type: 'ready' }
  | { type: 'outcomes'; outcomes: TransferOutcome[] }
  | { type: 'digest'; id: number; realPath: string; stats: DigestStats }
  | { type: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | { type: 'handle' } // sent with the listening socket
  | { type: 'closed' }
  | LiveFromWorker;
