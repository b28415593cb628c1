import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * The plain-HTTP listener beside an HTTPS web host (services.web.httpRedirectPort): every request
 * gets a redirect to the same path and query on the HTTPS URL, and nothing else — no portal, no
 * API, no body read (the connection closes after the answer). GET and HEAD get 301; other methods
 * 308, which keeps the method and body for a client that repeats them over HTTPS. The target's
 * origin comes from the configuration (`httpsBase`), never from the request's Host header.
 */
export class HttpsRedirectServer {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  #address: AddressInfo | undefined;

  /** `httpsBase()`: the HTTPS origin to send clients to (https://host:port, no trailing slash), asked per request. */
  constructor(httpsBase: () => string, options: { idleTimeoutMs?: number } = {}) {
    const answer = (req: IncomingMessage, res: ServerResponse): void => {
      // The origin-form target (/path?query) is kept; anything else (absolute-form, '*') goes to the root.
      const target = req.url?.startsWith('/') ? req.url : '/';
      const status = req.method === 'GET' || req.method === 'HEAD' ? 301 : 308;
      res.writeHead(status, { location: `${httpsBase()}${target}`, 'content-length': 0, connection: 'close', 'cache-control': 'no-store' });
      res.end();
    };
    this.#server = createServer({ requestTimeout: 10_000, headersTimeout: 10_000, keepAliveTimeout: 1_000 }, answer);
    // Expect: 100-continue is never granted: the body is not wanted, the redirect is the answer.
    this.#server.on('checkContinue', answer);
    this.#server.on('checkExpectation', answer);
    this.#server.setTimeout(options.idleTimeoutMs ?? 30_000);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('clientError', (_err, socket: Socket) => {
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
