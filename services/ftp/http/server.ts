import { createServer, type Server } from 'node:http';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { createDownloadHandler, type DownloadHandler, type DownloadHandlerOptions } from './download-handler.js';

/** The file host's HTTP download server (node:http; the handler does the work). */
export class DownloadServer {
  readonly #server: Server;
  readonly #handler: DownloadHandler;

  constructor(options: DownloadHandlerOptions) {
    this.#handler = createDownloadHandler(options);
    this.#server = createServer(
      {
        keepAliveTimeout: 5_000,
        headersTimeout: 15_000,
        requestTimeout: 30_000, // receiving a request; a long download is not cut by it
        maxHeaderSize: 16 * 1024,
      },
      this.#handler,
    );
    this.#server.on('clientError', (err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n');
      else socket.destroy(err);
    });
  }

  /** Cuts off the customer's downloads in progress (with `paths`: only those of these files); returns how many. */
  endCustomer(customer: string, paths?: readonly string[]): number {
    return this.#handler.endCustomer(customer, paths);
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve(this.#server.address() as AddressInfo);
      });
    });
  }

  /** Serves on a listening socket handed over by the file host (download workers). */
  listenOn(handle: NetServer): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(handle, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
  }

  /**
   * Stops accepting; idle keep-alive connections close now, downloads in progress get `graceMs`.
   * Resolves once every transfer's outcome has been reported.
   */
  async close(graceMs = 5000): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => this.#server.closeAllConnections(), graceMs);
    await closed;
    clearTimeout(timer);
    await this.#handler.idle();
  }
}
