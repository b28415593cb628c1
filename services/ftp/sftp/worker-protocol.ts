import type { TransferOutcome } from '../common/audit-reporter.js';
import type { KeyProbe, LoginRequest } from '../common/customer-login.js';
import type { LiveFromWorker, LiveToWorker } from '../common/live-sessions.js';
import type { BaseFromWorker, BaseToWorker } from '../../../lib/workers/worker-processes.js';
import type { ChecksumAlgorithm } from '../repository/checksum-algorithms.js';

/**
 * Messages between the file host and its SFTP worker processes. A worker does the SSH work (key
 * exchange, encryption, SFTP requests over the areas); every decision about a client (may this
 * TCP connection stay, is this key registered, is this login good) is the file host's, asked over
 * IPC, so the defender, the limits and the login cache stay one for all workers and for FTP. So
 * are the checksums of area files (SSH `sha256sum`…): the file host's FileChecksums remembers them
 * by object for every worker and for FTP.
 */
export interface SftpWorkerSettings {
  hostKey: string;
  areasDir: string;
  loginTimeoutMs: number;
  idleTimeoutMs: number;
  transferIdleMs: number;
  maxUnauthenticated: number;
  maxAuthAttempts: number;
  maxHandles: number;
  outcomeFlushMs: number;
}

type Failure = { code: string; message: string };

/** A file as FileChecksums knows it: its real path in an area, and its identity when it was resolved. */
export interface ChecksumRequest {
  path: string;
  stats: { dev: number; ino: number; size: number; mtimeMs: number };
  algorithm: ChecksumAlgorithm;
}

export type SftpToWorker =
  | BaseToWorker<SftpWorkerSettings>
  | { type: 'admitted'; id: number; error?: Failure }
  | { type: 'key.checked'; id: number; registered?: boolean; error?: Failure }
  | { type: 'logged-in'; id: number; customer?: string; name?: string; error?: Failure }
  | { type: 'checksummed'; id: number; hex?: string; error?: Failure }
  /** The customer's access ended: end its connections (with `paths`: only the transfers of those files). */
  | { type: 'end-customer'; customer: string; paths?: string[]; reason?: string }
  | LiveToWorker;

export type SftpFromWorker =
  | BaseFromWorker
  /** A TCP connection was accepted: its admission is `id` until released. */
  | { type: 'admit'; id: number; clientAddress: string }
  /** Admission `id` has logged in: it no longer counts as waiting to log in. */
  | { type: 'authenticated'; id: number }
  | { type: 'release'; id: number }
  | { type: 'key.check'; id: number; probe: KeyProbe }
  | { type: 'login'; id: number; request: LoginRequest }
  /** The checksum of an area file (its path resolved by the worker through the customer's AreaRoot). */
  | { type: 'checksum'; id: number; request: ChecksumRequest }
  | { type: 'end'; id: number }
  | { type: 'failed'; clientAddress: string; score: number }
  | { type: 'outcomes'; outcomes: TransferOutcome[] }
  | LiveFromWorker;
