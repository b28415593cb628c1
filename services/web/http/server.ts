import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type Koa from 'koa';
import { WebErrors } from '../errors.js';
import type { WebState } from './context.js';

/**
 * The web host's HTTP listener. Uploads may take long, so there is no whole-request deadline; a
 * connection idle for `idleTimeoutMs` is closed instead. close() stops accepting, lets requests in
 * progress finish within the grace time, then cuts what is left.
 */
export class WebHttpServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #address: AddressInfo | undefined;

  /** `front` may take a request before the koa application (a promise: it answers it; api/fast-download.ts). */
  constructor(
    app: Koa<WebState>,
    options: { idleTimeoutMs?: number; maxBodyBytes?: number; front?: (req: IncomingMessage, res: ServerResponse) => Promise<void> | undefined } = {},
  ) {
    const koa = app.callback();
    const front = options.front;
    const handler = front ? (req: IncomingMessage, res: ServerResponse) => void (front(req, res) ?? koa(req, res)) : koa;
    this.#server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, handler);
    // Expect: 100-continue: a body declared larger than any endpoint takes is refused before the
    // client sends it; otherwise the client is told to go on and the request takes its course.
    this.#server.on('checkContinue', (req: IncomingMessage, res: ServerResponse) => {
      const declared = Number(req.headers['content-length']);
      if (options.maxBodyBytes !== undefined && declared > options.maxBodyBytes) {
        const body = JSON.stringify({
          error: { code: WebErrors.BODY_TOO_LARGE.code, message: `the body is ${declared} bytes; at most ${options.maxBodyBytes} are accepted` },
        });
        res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), connection: 'close' });
        res.end(body);
        return;
      }
      res.writeContinue();
      void handler(req, res);
    });
    this.#server.setTimeout(options.idleTimeoutMs ?? 120_000);
    this.#server.on('connection', (socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
      else socket.destroy();
    });
  }

  async listen(port: number, host: string): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(port, host, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#address = this.#server.address() as AddressInfo;
    return this.#address;
  }

  /** Listens on a socket another process bound and handed over (a worker process's share of the port). */
  async listenOn(handle: NetServer): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      this.#server.once('error', reject);
      this.#server.listen(handle, () => {
        this.#server.off('error', reject);
        resolve();
      });
    });
    this.#address = this.#server.address() as AddressInfo;
    return this.#address;
  }

  get address(): AddressInfo | undefined {
    return this.#address;
  }

  async close(graceMs = 5000): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#server.closeIdleConnections();
    const timer = setTimeout(() => {
      for (const socket of this.#sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }
}
