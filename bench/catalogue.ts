/**
 * Every benchmark `npm run bench` runs, in order: what it measures, its peer, the tools it needs
 * installed, and its entry point (imported only when it runs).
 */
import type { ToolName } from './peers/tools.js';
import type { Result } from './results.js';

export interface Benchmark {
  /** Its results are bench/results/<name>.{json,md,svg}. */
  readonly name: string;
  readonly measures: string;
  readonly peer: string;
  readonly needs: readonly ToolName[];
  load(): Promise<() => Promise<Result[]>>;
}

export const BENCHMARKS: readonly Benchmark[] = Object.freeze([
  {
    name: 'commlink',
    measures: 'One commlink connection between two processes: serial round trips, pipelined requests, a bulk stream; per cipher suite.',
    peer: 'TLS 1.3 (node:tls) carrying the same requests or bytes',
    needs: ['openssl'],
    load: async () => (await import('./commlink/run.js')).main,
  },
  {
    name: 'internal-db',
    measures: 'auth.check over the commlink: pipelined throughput (password, SSH key) and latency at a fixed rate.',
    peer: 'none (targets only)',
    needs: [],
    load: async () => (await import('./internal-db/run.js')).main,
  },
  {
    name: 'staging',
    measures: "Staging an object (1 MiB, 100 MiB, 1 GiB) into a customer's area: the stage order over the commlink, and through the web host.",
    peer: 'cp of the same object on the same filesystem',
    needs: [],
    load: async () => (await import('./file-host/staging.js')).main,
  },
  {
    name: 'http-downloads',
    measures: "The file host's ticketed HTTP downloads (1 KiB and 1 MiB files) under autocannon and wrk: requests/s, throughput, p99.",
    peer: 'nginx serving the same files (and a bare Node.js server as reference)',
    needs: ['nginx', 'wrk'],
    load: async () => (await import('./file-host/http.js')).main,
  },
  {
    name: 'sftp',
    measures: "OpenSSH's sftp client fetching a 256 MiB file from the file host's SFTP server, one stream and 8 parallel.",
    peer: 'OpenSSH sshd with internal-sftp',
    needs: ['sshd', 'sftpClient'],
    load: async () => (await import('./file-host/sftp.js')).main,
  },
  {
    name: 'ftp',
    measures: "curl fetching a 256 MiB file from the file host's FTP server, one stream and 8 parallel; FTP login latency.",
    peer: 'vsftpd (anonymous, read-only)',
    needs: ['vsftpd', 'curl'],
    load: async () => (await import('./file-host/ftp.js')).main,
  },
  {
    name: 'entitled-downloads',
    measures: "A customer's whole download: the web host's 303 (token, entitlement, signed ticket) and the file host's download; each hop alone.",
    peer: 'nginx answering the same 303 and serving the same files',
    needs: ['nginx'],
    load: async () => (await import('./web/entitled-downloads.js')).main,
  },
  {
    name: 'uploads',
    measures: "A vendor's 256 MiB artifact upload through the web host, relayed over the commlink to the file host (hash, write, fsync); CPU per MB.",
    peer: 'nginx WebDAV PUT of the same file',
    needs: ['nginx', 'curl'],
    load: async () => (await import('./web/uploads.js')).main,
  },
  {
    name: 'crypto-pool',
    measures:
      "The web host's event loop and throughput under upload and download-link load, with the crypto pool in its configurations; SHA-256 on or off the main thread.",
    peer: 'none (compared with the no-pool configuration of the project)',
    needs: [],
    load: async () => (await import('./web/crypto-pool.js')).main,
  },
]);

export const BENCHMARK_NAMES: readonly string[] = BENCHMARKS.map((b) => b.name);
