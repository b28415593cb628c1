import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createSecureServer, type Http2SecureServer, type Http2ServerRequest, type Http2ServerResponse, type ServerHttp2Session } from 'node:http2';
import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import type Koa from 'koa';
import { WebErrors } from '../errors.js';
import type { WebState } from './context.js';

/** The HTTPS listener's certificate chain and private key (PEM text, read by main.ts from services.web.tlsCertPath / tlsKeyPath). */
export interface WebTlsFiles {
  readonly cert: string;
  readonly key: string;
}

export interface WebHttpServerOptions {
  /** A connection (HTTP/1.1) or an HTTP/2 session with no traffic this long is closed (default 120 s). */
  idleTimeoutMs?: number;
  /** A body declared larger (Expect: 100-continue) is refused with 413 before the client sends it. */
  maxBodyBytes?: number;
  /** Serve HTTPS (HTTP/2 and HTTP/1.1 by ALPN; TLS 1.2 or newer) with this certificate; absent: plain HTTP/1.1. */
  tls?: WebTlsFiles;
  /** Strict-Transport-Security max-age on every HTTPS answer, in seconds (0 or absent: no header; never over plain HTTP). */
  hstsSeconds?: number;
  /**
   * Takes a request before the koa application: a promise when it answers it (api/fast-download.ts,
   * over HTTP/1.1 and, through node:http2's compatibility API, HTTP/2), undefined to leave it to koa.
   */
  front?: (req: IncomingMessage, res: ServerResponse) => Promise<void> | undefined;
}

type AnyRequest = IncomingMessage | Http2ServerRequest;
type AnyResponse = ServerResponse | Http2ServerResponse;

/** Streams one HTTP/2 session may have open at once (RFC 9113 recommends at least 100). */
const MAX_CONCURRENT_STREAMS = 100;

/**
 * The web host's HTTP listener: plain HTTP/1.1, or HTTPS with HTTP/2 and HTTP/1.1 by ALPN (one
 * koa app behind both, through node:http2's compatibility API). Uploads may take long, so there is
 * no whole-request deadline; a connection (or HTTP/2 session) idle for `idleTimeoutMs` is closed
 * instead. close() stops accepting, tells HTTP/2 clients so (GOAWAY), lets requests in progress
 * finish within the grace time, then cuts what is left.
 */
export class WebHttpServer {
  readonly #server: Server | Http2SecureServer;
  readonly #sockets = new Set<Socket>();
  readonly #sessions = new Set<ServerHttp2Session>();
  readonly #secure: boolean;
  #address: AddressInfo | undefined;

  constructor(app: Koa<WebState>, options: WebHttpServerOptions = {}) {
    const koa = app.callback() as (req: AnyRequest, res: AnyResponse) => Promise<void>;
    const front = options.front;
    // The fast path (api/fast-download.ts) answers its one route itself (a promise) or leaves the request to koa (undefined).
    const callback = front ? (req: AnyRequest, res: AnyResponse): Promise<void> => front(req as IncomingMessage, res as ServerResponse) ?? koa(req, res) : koa;
    const hsts = options.tls && options.hstsSeconds ? `max-age=${options.hstsSeconds}` : undefined;
    this.#secure = options.tls !== undefined;
    // HSTS is set before the app runs, so every HTTPS answer carries it: koa's, the error edge's, the 413 below.
    const handler =
      hsts === undefined
        ? callback
        : (req: AnyRequest, res: AnyResponse): Promise<void> => {
            res.setHeader('strict-transport-security', hsts);
            return callback(req, res);
          };
    if (options.tls) {
      const server = createSecureServer(
        {
          allowHTTP1: true,
          cert: options.tls.cert,
          key: options.tls.key,
          minVersion: 'TLSv1.2',
          // A client that starts a handshake and stalls holds its socket this long at most (Node's default: 120 s).
          handshakeTimeout: 10_000,
          settings: { maxConcurrentStreams: MAX_CONCURRENT_STREAMS },
        },
        handler,
      );
      // HTTP/1.1 over TLS runs node:http's connection handling on this server: the same limits as plain HTTP.
      Object.assign(server, { requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 });
      server.on('session', (session: ServerHttp2Session) => {
        this.#sessions.add(session);
        session.once('close', () => this.#sessions.delete(session));
        session.on('error', () => session.destroy()); // a broken session is that client's problem alone
      });
      // A failed handshake (plain HTTP on this port, garbage, a stall): tls destroys that socket; nothing else to do.
      server.on('tlsClientError', () => undefined);
      server.on('sessionError', () => undefined);
      this.#server = server;
    } else {
      this.#server = createServer({ requestTimeout: 0, headersTimeout: 30_000, keepAliveTimeout: 5_000 }, handler);
    }
    // Expect: 100-continue: a body declared larger than any endpoint takes is refused before the
    // client sends it; otherwise the client is told to go on and the request takes its course.
    this.#server.on('checkContinue', (req: AnyRequest, res: AnyResponse) => {
      const declared = Number(req.headers['content-length']);
      if (options.maxBodyBytes !== undefined && declared > options.maxBodyBytes) {
        const body = JSON.stringify({
          error: { code: WebErrors.BODY_TOO_LARGE.code, message: `the body is ${declared} bytes; at most ${options.maxBodyBytes} are accepted` },
        });
        if (hsts !== undefined) res.setHeader('strict-transport-security', hsts);
        // HTTP/2 has no Connection header: the stream ends here and the unsent body is refused with it.
        const close = req.httpVersionMajor >= 2 ? {} : { connection: 'close' };
        res.writeHead(413, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body), ...close });
        res.end(body);
        return;
      }
      res.writeContinue();
      void handler(req, res);
    });
    this.#server.setTimeout(options.idleTimeoutMs ?? 120_000);
    this.#server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
    this.#server.on('clientError', (_err: Error, socket: Socket) => {
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

  /** True when it serves HTTPS. */
  get secure(): boolean {
    return this.#secure;
  }

  /** HTTP/2 sessions open now (0 over plain HTTP). */
  get sessions(): number {
    return this.#sessions.size;
  }

  async close(graceMs = 5000): Promise<void> {
    if (!this.#server.listening) return;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    // Idle HTTP/1.1 keep-alive connections (node:http2 runs node:http's for HTTP/1.1 over TLS; its types omit it).
    (this.#server as { closeIdleConnections(): void }).closeIdleConnections();
    // GOAWAY to every HTTP/2 client: no new streams; each session ends once its streams have.
    for (const session of this.#sessions) session.close();
    const timer = setTimeout(() => {
      for (const session of this.#sessions) session.destroy();
      for (const socket of this.#sockets) socket.destroy();
    }, graceMs);
    await closed;
    clearTimeout(timer);
  }
}
