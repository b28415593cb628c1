/**
 * The peer for FTP: vsftpd from Debian's packages, run by the benchmark on loopback with a
 * configuration of its own: anonymous, read-only, rooted at the same customer area, passive mode on
 * a port range of its own, sendfile as vsftpd always uses it.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, stopChild, waitForPort } from './peer-process.js';

export interface VsftpdPeer {
  port: number;
  version: string;
  stop(): Promise<void>;
}

export function vsftpdBinary(): string | undefined {
  return existsSync('/usr/sbin/vsftpd') ? '/usr/sbin/vsftpd' : undefined;
}

export async function startVsftpd(dir: string, root: string, passive: { min: number; max: number }): Promise<VsftpdPeer> {
  const binary = vsftpdBinary();
  if (!binary) throw new Error('vsftpd is not installed (apt-get install vsftpd)');
  const empty = '/var/run/vsftpd/empty';
  mkdirSync(empty, { recursive: true, mode: 0o755 });
  const port = await freePort();
  const config = join(dir, 'vsftpd.conf');
  writeFileSync(
    config,
    `listen=YES
listen_address=127.0.0.1
listen_port=${port}
background=NO
anonymous_enable=YES
no_anon_password=YES
anon_root=${root}
local_enable=NO
write_enable=NO
pasv_enable=YES
pasv_min_port=${passive.min}
pasv_max_port=${passive.max}
pasv_address=127.0.0.1
port_enable=NO
secure_chroot_dir=${empty}
seccomp_sandbox=NO
xferlog_enable=YES
xferlog_file=${join(dir, 'vsftpd-xfer.log')}
vsftpd_log_file=${join(dir, 'vsftpd.log')}
max_clients=1000
max_per_ip=1000
`,
    { mode: 0o600 },
  );
  const child: ChildProcess = spawn(binary, [config], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port);
  const packaged = spawnSync('dpkg-query', ['-W', '-f=${Version}', 'vsftpd']).stdout?.toString().trim();
  const version = packaged ? `vsftpd ${packaged}` : 'vsftpd';
  return {
    port,
    version,
    stop: () => stopChild(child, 'SIGTERM'),
  };
}
