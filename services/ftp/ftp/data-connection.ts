import type { Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../../../lib/log/logger.js';
import { sameAddress } from '../common/client-address.js';
import type { PassivePort, PassivePorts } from './passive-ports.js';

/** How long a passive port waits for the client's data connection (and its TLS handshake). */
export const DATA_CONNECT_TIMEOUT_MS = 20_000;
/** After a complete send, how long the client has to hang up before the data connection is destroyed. */
const END_GRACE_MS = 10_000;

export interface DataConnectionOptions {
  /** The control connection's client: the only address whose data connection is taken. */
  clientAddress: string;
  /** Set when the data connection is protected (PROT P): the TLS handshake happens on accept. */
  secureContext: SecureContext | undefined;
  /** A data connection that moves nothing for this long is dropped. */
  idleTimeoutMs: number;
  /** The server's open data connections (each removes itself when closed), for close(). */
  open: Set<DataConnection>;
  log: Logger;
}

/**
 * One passive data connection: a port of the range that waits for the client, takes one
 * connection from the control connection's address (others are dropped, not the session: ftp-srv
 * closes the session, which lets anyone who can reach the port end it), and stops listening as
 * soon as it has it, so the port is free again while the transfer runs. A session holds at most
 * one (a new PASV closes the old one); nobody connecting within DATA_CONNECT_TIMEOUT_MS closes it.
 *
 * Invariant: after `close()` the port is released and the socket, if any, destroyed.
 */
export class DataConnection {
  readonly port: number;
  readonly #passive: PassivePort;
  readonly #options: DataConnectionOptions;
  readonly #ready: Promise<Socket | TLSSocket>;
  #resolve!: (socket: Socket | TLSSocket) => void;
  #reject!: (err: Error) => void;
  #socket: Socket | TLSSocket | undefined;
  readonly #timer: NodeJS.Timeout;
  #closed = false;

  private constructor(passive: PassivePort, options: DataConnectionOptions) {
    this.port = passive.port;
    this.#passive = passive;
    this.#options = options;
    this.#ready = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#ready.catch(() => {}); // nobody may ever wait for it
    options.open.add(this);
    passive.server.on('connection', (socket) => this.#accept(socket));
    passive.server.on('error', (err) => {
      options.log.warn('passive data server error', { err, port: this.port });
      this.close();
    });
    this.#timer = setTimeout(() => this.#fail(new Error('no data connection within the time allowed')), DATA_CONNECT_TIMEOUT_MS);
  }

  /** A data connection on a free passive port; undefined when the range is exhausted. */
  static async open(ports: PassivePorts, options: DataConnectionOptions): Promise<DataConnection | undefined> {
    const passive = await ports.listen();
    return passive && new DataConnection(passive, options);
  }

  /** True once the client has connected (before the TLS handshake, with PROT P). */
  get connected(): boolean {
    return this.#socket !== undefined;
  }

  /**
   * The connected socket (with PROT P: TLS, its handshake complete, session tickets included);
   * rejects on timeout or close.
   */
  socket(): Promise<Socket | TLSSocket> {
    return this.#ready;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#options.open.delete(this);
    clearTimeout(this.#timer);
    this.#passive.release();
    this.#socket?.destroy();
    this.#reject(new Error('data connection closed'));
  }

  /**
   * After a complete send: the socket is ended (if the sender did not) and the connection closes
   * when the client hangs up, or after END_GRACE_MS. Destroying at once could reset the connection
   * while the client still reads (unread TLS close_notify makes the kernel send RST).
   */
  end(): void {
    const socket = this.#socket;
    if (this.#closed || !socket || socket.destroyed) return this.close();
    if (!socket.writableEnded) socket.end();
    const timer = setTimeout(() => this.close(), END_GRACE_MS).unref();
    socket.once('close', () => {
      clearTimeout(timer);
      this.close();
    });
  }

  #fail(err: Error): void {
    this.#reject(err);
    this.close();
  }

  #accept(socket: Socket): void {
    socket.on('error', (err) => this.#options.log.debug('data connection error', { err, port: this.port }));
    if (this.#closed || this.#socket || sameAddress(socket.remoteAddress) !== this.#options.clientAddress) {
      if (!this.#closed && !this.#socket)
        this.#options.log.warn('data connection from another address dropped', {
          port: this.port,
          from: socket.remoteAddress,
          clientAddress: this.#options.clientAddress,
        });
      socket.destroy();
      return;
    }
    this.#passive.release(); // one connection per PASV: the port is free again now
    const { secureContext, idleTimeoutMs } = this.#options;
    if (!secureContext) {
      this.#socket = socket;
      socket.setTimeout(idleTimeoutMs, () => socket.destroy(new Error('data connection idle')));
      socket.resume(); // nothing is expected from the client; its EOF must be seen
      clearTimeout(this.#timer);
      this.#resolve(socket);
      return;
    }
    // The TLS socket takes over the TCP handle (and starts reading); the raw socket is left alone.
    const secure = new TLSSocket(socket, { isServer: true, secureContext });
    this.#socket = secure;
    secure.setTimeout(idleTimeoutMs, () => secure.destroy(new Error('data connection idle')));
    secure.on('error', (err) => {
      this.#options.log.debug('data connection TLS error', { err, port: this.port });
      this.#fail(err);
    });
    // 'secure' is emitted from inside OpenSSL's handshake call, before a TLS 1.3 server has
    // written its session tickets: a write then goes out ahead of them, and an end() finds the
    // handshake unfinished (SSL_shutdown: "shutdown while in init") and sends no close_notify;
    // Python's ftplib then fails its unwrap() (SHUTDOWN_WHILE_IN_INIT, or an unexpected EOF).
    // The socket is handed over once that call has returned and the tickets are out.
    secure.once('secure', () => {
      clearTimeout(this.#timer);
      secure.resume();
      setImmediate(() => this.#resolve(secure));
    });
  }
}
