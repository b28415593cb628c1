import type { FtpSession } from './session.js';

/** One command of the control connection. */
export interface Command {
  /** Refused with 530 before a successful login. */
  auth: boolean;
  /** `arg` is everything after the directive and one space, verbatim ('' when there is none). */
  run(session: FtpSession, arg: string, directive: string): Promise<void>;
}

export type CommandTable = Readonly<Record<string, Command>>;
