import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../../lib/log/logger.js';
import type { FileHostMetrics } from './metrics.js';

export interface OpsListenerOptions {
  host: string;
  port: number;
  metrics: FileHostMetrics;
  /** Whether the link to the web host is up (told in /healthz). */
  webLinked: () => boolean;
  log: Logger;
}

/**
 * The file host's operations listener (services.ftp.opsHost / opsPort; loopback by default:
 * metrics are not public): `/metrics` in Prometheus text format and `/healthz` (the process
 * answers; `webLink` says whether the web host is connected). Nothing else is served here.
 */
export class OpsListener {
  readonly #server: Server;
  readonly #host: string;
  readonly #port: number;
  #address: AddressInfo | undefined;

  constructor(options: OpsListenerOptions) {
    const { metrics, log } = options;
    this.#server = createServer((req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain; charset=utf-8' }).end('405 use GET\n');
        return;
      }
      if (path === '/healthz') {
        const body = JSON.stringify({ status: 'ok', webLink: options.webLinked() });
        res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(body);
        return;
      }
      if (path === '/metrics') {
        metrics.text().then(
          (text) => res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' }).end(text),
          (err: unknown) => {
            log.error('metrics could not be collected', { err });
            res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end('500 internal error\n');
          },
        );
        return;
      }
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('404 not found: /metrics or /healthz\n');
    });
    this.#host = options.host;
    this.#port = options.port;
  }

  start(): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(this.#port, this.#host, () => {
        this.#server.off('error', reject);
        this.#address = this.#server.address() as AddressInfo;
        resolve(this.#address);
      });
    });
  }

  get address(): AddressInfo | undefined {
    return this.#address;
  }

  close(): Promise<void> {
    if (!this.#server.listening) return Promise.resolve();
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }
}
