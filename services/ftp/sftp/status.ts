import ssh2 from 'ssh2';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf } from '../../../lib/errors/index.js';
import type { FileHostErrorCode } from '../http/status.js';

const { STATUS_CODE } = ssh2.utils.sftp;

/** An SFTP status reply (draft-ietf-secsh-filexfer-02 §7) and whether the error is the server's to look into (logged whole). */
export interface SftpStatus {
  readonly status: number;
  readonly message: string;
  readonly internal?: boolean;
}

const INTERNAL: SftpStatus = Object.freeze({ status: STATUS_CODE.FAILURE, message: 'internal error', internal: true });
const NO_SUCH_FILE: SftpStatus = Object.freeze({ status: STATUS_CODE.NO_SUCH_FILE, message: 'no such file' });

/**
 * The SFTP edge's translation of the file host's error codes into status replies: every code has
 * one (the compiler checks it), beside FTP's (ftp/replies.ts) and HTTP's (http/status.ts).
 * Logins are refused by the SSH layer itself (an auth failure), not by a status.
 */
export const SFTP_STATUSES: Readonly<Record<FileHostErrorCode, SftpStatus>> = Object.freeze({
  [FileHostErrors.INVALID_INPUT.code]: { status: STATUS_CODE.FAILURE, message: 'invalid request' },
  [FileHostErrors.NOT_FOUND.code]: NO_SUCH_FILE,
  [FileHostErrors.PATH_REFUSED.code]: { status: STATUS_CODE.PERMISSION_DENIED, message: 'path refused' },
  [FileHostErrors.READ_ONLY.code]: { status: STATUS_CODE.PERMISSION_DENIED, message: 'read-only: downloads only' },
  [FileHostErrors.AUTH_REFUSED.code]: { status: STATUS_CODE.PERMISSION_DENIED, message: 'not allowed' },
  [FileHostErrors.BANNED.code]: { status: STATUS_CODE.PERMISSION_DENIED, message: 'banned for a while after repeated failed logins' },
  [FileHostErrors.TOO_MANY_SESSIONS.code]: { status: STATUS_CODE.FAILURE, message: 'too many sessions' },
  [FileHostErrors.GATEWAY_UNAVAILABLE.code]: { status: STATUS_CODE.FAILURE, message: 'service not available, try again later' },
  [FileHostErrors.TICKET_INVALID.code]: INTERNAL,
  [FileHostErrors.TICKET_SUPERSEDED.code]: INTERNAL,
  [FileHostErrors.RELEASE_WITHDRAWN.code]: { status: STATUS_CODE.FAILURE, message: 'release withdrawn: you may no longer download it' },
  [FileHostErrors.OBJECT_MISMATCH.code]: INTERNAL,
  [FileHostErrors.STAGING_FAILED.code]: INTERNAL,
  [FileHostErrors.CROSS_DEVICE.code]: INTERNAL,
  [FileHostErrors.INTERNAL.code]: INTERNAL,
});

/** System errors a read can meet (the file left between the listing and the open). */
const SYSTEM_STATUSES: Readonly<Record<string, SftpStatus>> = Object.freeze({ ENOENT: NO_SUCH_FILE, ENOTDIR: NO_SUCH_FILE });

/** The status for an error; anything else is an internal error (log it whole). */
export function sftpStatusOf(err: unknown): SftpStatus {
  const code = codeOf(err) ?? (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === undefined) return INTERNAL;
  return (SFTP_STATUSES as Readonly<Record<string, SftpStatus>>)[code] ?? SYSTEM_STATUSES[code] ?? INTERNAL;
}
