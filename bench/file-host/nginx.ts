/**
 * The peer for HTTP downloads: nginx from Debian's packages, run by the benchmark on loopback with a
 * configuration of its own (sendfile, keep-alive without a request cap, access log on, as Debian
 * ships it), serving the same customer area over the same URL paths.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

export interface NginxPeer {
  port: number;
  version: string;
  stop(): Promise<void>;
}

export function nginxBinary(): string | undefined {
  for (const path of ['/usr/sbin/nginx', '/usr/bin/nginx']) if (spawnSync(path, ['-v']).status === 0) return path;
  return undefined;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Starts nginx serving `areaDir` at `/files/`; `workers` is worker_processes. */
export async function startNginx(dir: string, areaDir: string, workers: number | 'auto'): Promise<NginxPeer> {
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
  }
}
`,
  );
  const version = spawnSync(binary, ['-v']).stderr.toString().trim().replace('nginx version: ', '');
  const child: ChildProcess = spawn(binary, ['-c', conf, '-p', dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  for (let i = 0; i < 200; i++) {
    const up = await fetch(`http://127.0.0.1:${port}/`).then(
      () => true,
      () => false,
    );
    if (up) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  return {
    port,
    version,
    stop: () =>
      new Promise((resolve) => {
        child.once('exit', () => resolve());
        child.kill('SIGQUIT');
        setTimeout(() => child.kill('SIGKILL'), 5000).unref();
      }),
  };
}
