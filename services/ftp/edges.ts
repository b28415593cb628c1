import ssh2 from 'ssh2';
import { FileHostErrors } from '../../lib/contracts/file-host/errors.js';
import { ftpReplies } from './ftp/replies.js';
import { HTTP_ANSWERS, type FileHostErrorCode } from './http/status.js';
import { SFTP_STATUSES } from './sftp/status.js';

/** One error code and what each of the file host's edges answers for it. */
export interface EdgeAnswers {
  readonly code: FileHostErrorCode;
  readonly description: string;
  readonly http: { status: number; internal: boolean };
  readonly ftp: { code: number; close: boolean; internal: boolean };
  readonly sftp: { status: string; internal: boolean };
}

const SFTP_NAMES = new Map(Object.entries(ssh2.utils.sftp.STATUS_CODE).map(([name, value]) => [value, name]));

/** Every code of the file host's catalogue with its HTTP status, FTP reply and SFTP status. */
export function edgeAnswers(): EdgeAnswers[] {
  const ftp = ftpReplies();
  return Object.values(FileHostErrors).map((def) => {
    const http = HTTP_ANSWERS[def.code];
    const reply = ftp[def.code](def('example', { command: 'RETR' }));
    const sftp = SFTP_STATUSES[def.code];
    return {
      code: def.code,
      description: def.description,
      http: { status: http.status, internal: http.internal === true },
      ftp: { code: reply.code, close: reply.close === true, internal: reply.internal === true },
      sftp: { status: SFTP_NAMES.get(sftp.status) ?? String(sftp.status), internal: sftp.internal === true },
    };
  });
}
