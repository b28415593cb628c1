import type { TransferOutcome } from '../common/audit-reporter.js';
import type { LoginRequest } from '../common/customer-login.js';
import type { BaseFromWorker, BaseToWorker } from '../common/worker-processes.js';

/**
 * Messages between the file host and its SFTP worker processes. A worker does the SSH work (key
 * exchange, encryption, SFTP requests over the areas); every decision about a client (may this
 * address connect, is this login good) is the file host's, asked over IPC, so the defender, the
 * limits and the login cache stay one for all workers and for FTP.
 */
export interface SftpWorkerSettings {
  hostKey: string;
  areasDir: string;
  loginTimeoutMs: number;
  idleTimeoutMs: number;
  outcomeFlushMs: number;
}

export type SftpToWorker =
  | BaseToWorker<SftpWorkerSettings>
  | { type: 'admitted'; id: number; error?: { code: string; message: string } }
  | { type: 'logged-in'; id: number; customer?: string; name?: string; error?: { code: string; message: string } };

export type SftpFromWorker =
  | BaseFromWorker
  | { type: 'admit'; id: number; clientAddress: string }
  | { type: 'release'; id: number }
  | { type: 'login'; id: number; request: LoginRequest }
  | { type: 'end'; id: number }
  | { type: 'failed'; clientAddress: string; score: number }
  | { type: 'outcomes'; outcomes: TransferOutcome[] };
