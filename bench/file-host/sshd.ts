/**
 * The peer for SFTP: OpenSSH's sshd from Debian's packages with internal-sftp, run by the benchmark
 * on loopback with a configuration of its own: key login only, `ForceCommand internal-sftp`, no
 * forwarding, bound to 127.0.0.1 on a free port for the run. It serves the same files by their
 * path on disk (no chroot: chroot needs root-owned parents, which a temp dir does not have).
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, stopChild, waitForPort } from './peer-process.js';
import { userInfo } from 'node:os';

export interface SshdPeer {
  port: number;
  user: string;
  version: string;
  stop(): Promise<void>;
}

export function sshdBinary(): string | undefined {
  return existsSync('/usr/sbin/sshd') ? '/usr/sbin/sshd' : undefined;
}

/** Starts sshd accepting `authorizedKey` (an authorized_keys line) for the current user. */
export async function startSshd(dir: string, authorizedKey: string): Promise<SshdPeer> {
  const binary = sshdBinary();
  if (!binary) throw new Error('sshd is not installed (apt-get install openssh-server)');
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 }); // privilege separation directory
  const hostKey = join(dir, 'sshd_host_ed25519');
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', hostKey]);
  writeFileSync(join(dir, 'authorized_keys'), `${authorizedKey}\n`, { mode: 0o600 });
  const port = await freePort();
  const user = userInfo().username;
  const config = join(dir, 'sshd_config');
  writeFileSync(
    config,
    `Port ${port}
ListenAddress 127.0.0.1
HostKey ${hostKey}
PidFile ${join(dir, 'sshd.pid')}
AuthorizedKeysFile ${join(dir, 'authorized_keys')}
StrictModes no
PermitRootLogin prohibit-password
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
AllowUsers ${user}
AllowTcpForwarding no
X11Forwarding no
Subsystem sftp internal-sftp
ForceCommand internal-sftp
`,
  );
  const version = spawnSync(binary, ['-V']).stderr.toString().trim().split(',')[0]!;
  const child: ChildProcess = spawn(binary, ['-D', '-e', '-f', config], { stdio: ['ignore', 'ignore', 'ignore'] });
  await waitForPort(port);
  return {
    port,
    user,
    version: version || 'OpenSSH sshd',
    stop: () => stopChild(child, 'SIGTERM'),
  };
}
