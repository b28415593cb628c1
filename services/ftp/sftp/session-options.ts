import type { Socket } from 'node:net';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { LiveSessionHandle } from '../common/live-sessions.js';
import type { AreaRoot } from '../common/path-resolver.js';

/** Open handles, counted for the whole connection (every sftp session of it): at `max`, OPEN and OPENDIR fail. */
export interface HandleBudget {
  open: number;
  readonly max: number;
}

export interface SftpSessionOptions {
  customer: string;
  clientAddress: string;
  root: AreaRoot;
  outcomes: { report(outcome: TransferOutcome): void };
  log: Logger;
  /** Called on every request (the idle timer). */
  onActivity: () => void;
  /** The connection's handle budget (services.ftp.sftpMaxHandles). */
  handles: HandleBudget;
  /** Replies wait for a client that takes no byte for this long (ms): the session ends and `onStall` is called. */
  transferIdleMs: number;
  /** The client stopped reading (the session has ended, its files audited): close the connection. */
  onStall: () => void;
  /** The connection's TCP socket: replies made in one turn of the event loop go out in one write; its queue is what it has not sent. */
  socket?: Socket;
  /** The connection in the live sessions: told which file is read and how many bytes go out. */
  live?: LiveSessionHandle;
}

/** Status message of an OPEN or OPENDIR past the handle budget. */
export function tooManyHandles(max: number): string {
  return `too many open handles (${max} per connection): close some first`;
}
