/**
 * The programs the benchmarks run beside the project (peers) or drive it with (clients), how to
 * tell each is installed, and the Debian packages that provide it.
 */
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { nginxBinary } from '../file-host/nginx.js';
import { sshdBinary } from '../file-host/sshd.js';
import { vsftpdBinary } from '../file-host/vsftpd.js';

export interface Tool {
  /** What the benchmarks need, as a person would name it. */
  readonly description: string;
  /** Installed and usable as the benchmarks use it. */
  present(): boolean;
  /** Debian packages that provide it, preferred first; one of them is installed. */
  readonly packages: readonly string[];
}

/** A command on $PATH that this process may run. */
export function onPath(command: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      accessSync(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory
    }
  }
  return false;
}

/** nginx built with the WebDAV module (the uploads benchmark's peer takes PUT): nginx-light and nginx both are. */
function nginxWithDav(): boolean {
  const binary = nginxBinary();
  if (!binary) return false;
  return spawnSync(binary, ['-V']).stderr.toString().includes('--with-http_dav_module');
}

export const TOOLS = Object.freeze({
  nginx: { description: 'nginx with WebDAV (/usr/sbin/nginx)', present: nginxWithDav, packages: ['nginx-light', 'nginx'] },
  vsftpd: { description: 'vsftpd (/usr/sbin/vsftpd)', present: () => vsftpdBinary() !== undefined, packages: ['vsftpd'] },
  sshd: { description: 'OpenSSH sshd with internal-sftp (/usr/sbin/sshd)', present: () => sshdBinary() !== undefined, packages: ['openssh-server'] },
  sftpClient: { description: 'OpenSSH sftp and ssh-keygen', present: () => onPath('sftp') && onPath('ssh-keygen'), packages: ['openssh-client'] },
  wrk: { description: 'wrk', present: () => onPath('wrk'), packages: ['wrk'] },
  curl: { description: 'curl', present: () => onPath('curl'), packages: ['curl'] },
  openssl: { description: 'openssl (TLS certificate of the commlink peer)', present: () => onPath('openssl'), packages: ['openssl'] },
} satisfies Record<string, Tool>);

export type ToolName = keyof typeof TOOLS;
