/**
 * The peer for HTTP downloads: nginx from Debian's packages, run by the benchmark on loopback with a
 * configuration of its own (sendfile, keep-alive without a request cap, access log on, as Debian
 * ships it), serving the same customer area over the same URL paths.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort, stopChild, waitForPort } from './peer-process.js';

export interface NginxPeer {
  port: number;
  version: string;
  stop(): Promise<void>;
}

export function nginxBinary(): string | undefined {
  for (const path of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (spawnSync(path, ['-v']).status === 0) return path;
  return undefined;
}

/**
 * Starts nginx serving `areaDir` at `/files/`; `workers` is worker_processes. `locations` adds
 * server-block lines (given the port), e.g. a redirect that mirrors the web host's 303.
 */
export async function startNginx(dir: string, areaDir: string, workers: number | 'auto', locations: (port: number) => string = () => ''): Promise<NginxPeer> {
  const binary = nginxBinary();
  if (!binary) throw new Error('nginx is not installed (apt-get install nginx-light)');
  const port = await freePort();
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    `worker_processes ${workers};
pid ${dir}/nginx.pid;
error_log ${dir}/nginx-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log ${dir}/nginx-access.log;
  sendfile on;
  tcp_nopush on;
  keepalive_requests 1000000;
  keepalive_timeout 65;
  default_type application/octet-stream;
  server {
    listen 127.0.0.1:${port};
    location /files/ { alias ${areaDir}/; }
${locations(port)}
  }
}
`,
  );
  const version = spawnSync(binary, ['-v']).stderr.toString().trim().replace('nginx version: ', '');
  const child: ChildProcess = spawn(binary, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitForPort(port);
  return {
    port,
    version,
    stop: () => stopChild(child, 'SIGQUIT'),
  };
}
