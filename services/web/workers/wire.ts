import { RemoteError } from '../../../lib/commlink/index.js';
import { CodedError } from '../../../lib/errors/index.js';

/**
 * What crosses the IPC channel between the web host's primary and its workers (structured clone,
 * `serialization: 'advanced'`: Dates and Buffers pass as they are).
 */

/** A file host as the workers see it (no connection: they ask through the primary). */
export interface WireFileHost {
  name: string;
  httpUrl: string;
  ftpUrl: string | undefined;
  sftpUrl: string | undefined;
  since: Date;
  remoteAddress: string;
}

/** What the primary's links look like now: pushed to the workers on every change. */
export interface LinkState {
  internalDbUp: boolean;
  fileHosts: WireFileHost[];
}

/** An error on the wire: a catalogued error keeps its code, message and details (and whether a peer sent it). */
export interface WireError {
  message: string;
  code?: string;
  details?: Record<string, unknown>;
  remote?: boolean;
}

export function errorToWire(err: unknown): WireError {
  if (err instanceof CodedError) return { message: err.message, code: err.code, details: { ...err.details }, remote: err instanceof RemoteError };
  return { message: err instanceof Error ? err.message : String(err) };
}

/** The same error again: the same class, code, message and details, so `isError` and the HTTP edge treat it as in one process. */
export function errorFromWire(wire: WireError): Error {
  if (wire.code === undefined) return new Error(wire.message);
  return wire.remote ? new RemoteError(wire.code, wire.message, wire.details) : new CodedError(wire.code, wire.message, wire.details);
}

/**
 * The call that makes change feeds catch up with the internal-db's head: a worker asks the primary
 * after a write, and the primary asks every worker (worker-main.ts `seenByEveryWorker`).
 */
export const CATCH_UP = 'changes.catchUp';
/** How long the primary waits for each worker's catch-up (past it, that worker is left to its feed's second). */
export const CATCH_UP_MS = 1500;

/** A request one side asks the other, answered by a reply with the same id. */
export interface CallMessage {
  type: 'call';
  id: number;
  method: string;
  args: unknown;
}

export type ReplyMessage = { type: 'reply'; id: number; ok: true; value: unknown } | { type: 'reply'; id: number; ok: false; error: WireError };

/** Primary → worker, besides calls and replies. */
export type PushMessage =
  | { type: 'links'; state: LinkState }
  /** An upload's bytes were all taken by the primary, or it failed there: the worker stops sending. */
  | { type: 'upload.stop'; upload: string };

/** Worker → primary, besides calls and replies. */
export type WorkerNotice =
  /** The worker sent all of an upload's bytes over its socket (`bytes` of them), or could not (`failed`). */
  | { type: 'upload.end'; upload: string; bytes: number }
  | { type: 'upload.abort'; upload: string; reason: string }
  /** A sign-in attempt the primary holds was decided. */
  | { type: 'signin.decide'; attempt: number; outcome: 'failed' | 'succeeded' | 'cancel' };

/** The settings of the upload socket: where it is, and the secret each upload names. */
export interface UploadSocketSettings {
  path: string;
  secret: string;
}
