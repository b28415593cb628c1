import type { AddressInfo, Socket } from 'node:net';
import { createSecureContext, type SecureContext } from 'node:tls';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { dispatch } from './commands.js';
import { sameAddress } from '../common/client-address.js';
import type { DataConnection } from './data-connection.js';
import { validateOptions, type FtpServerOptions, type ResolvedFtpOptions } from './options.js';
import { PassivePorts } from './passive-ports.js';
import { codeOf } from '../../../lib/errors/index.js';
import { replyOf } from './replies.js';
import { FtpSession } from './session.js';
import type { Admission } from '../common/session-limits.js';
import type { EndOptions } from '../common/end-options.js';
import { createSrv, type SrvConnection, type SrvServer } from './srv-adapter.js';

export type { FtpServerOptions } from './options.js';

const GREETING = 'Fulfillment file host: read-only FTP';
/** How long a refused connection may take to read its 421 before it is destroyed. */
const REFUSED_GRACE_MS = 2000;

interface Admitted {
  clientAddress: string;
  admission: Admission;
}

/**
 * The file host's FTP server (ftp-srv underneath; srv-adapter.ts says what is used of it). Each
 * session sees its customer's area, read-only; logins are checked live through CustomerLogins;
 * passive mode only (PASV/EPSV on a port range); explicit FTPS with AUTH TLS when a certificate is
 * given, required with `requireTls`. Banned addresses and addresses over their connection limit
 * get 421 before the greeting. Every RETR reports its outcome. See session.ts for one connection
 * and commands.ts for the commands.
 */
export class FtpServer {
  readonly #o: ResolvedFtpOptions;
  readonly #srv: SrvServer;
  readonly #ports: PassivePorts;
  readonly #secureContext: SecureContext | undefined;
  readonly #sessions = new Set<FtpSession>();
  readonly #dataConnections = new Set<DataConnection>();
  readonly #admitted = new WeakMap<Socket, Admitted>();
  /** Every TCP connection open now, admitted or being refused. */
  readonly #sockets = new Set<Socket>();
  #address: AddressInfo | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: FtpServerOptions) {
    this.#o = validateOptions(options);
    const { host, port, tls, log } = this.#o;
    this.#secureContext = tls ? secureContextOf(tls) : undefined;
    this.#ports = new PassivePorts({ host, min: this.#o.passivePortMin, max: this.#o.passivePortMax });
    this.#srv = createSrv({ host, port, greeting: GREETING, log, gate: (socket) => this.#gate(socket) });
    this.#srv.on('connect', ({ connection }: { connection: SrvConnection }) => this.#attach(connection));
    this.#srv.on('client-error', ({ context, error }: { context: string; error: Error }) => log.debug('ftp client error', { context, err: error }));
    this.#srv.on('server-error', ({ error }: { error: Error }) => log.error('ftp server error', { err: error }));
  }

  async start(): Promise<AddressInfo> {
    await this.#srv.listen();
    this.#address = this.#srv.server.address() as AddressInfo;
    this.#o.log.info('ftp listening', {
      address: this.#address.address,
      port: this.#address.port,
      passivePorts: `${this.#o.passivePortMin}-${this.#o.passivePortMax}`,
      tls: this.#secureContext !== undefined,
      requireTls: this.#o.requireTls,
    });
    return this.#address;
  }

  get address(): AddressInfo {
    if (!this.#address) throw new Error('the FTP server is not listening (start() first)');
    return this.#address;
  }

  /**
   * Ends every session of the customer (its access ended), with 421; transfers in progress are
   * audited as aborted. With `paths` (prefixes of area paths: releases the customer lost), only
   * transfers of those files are aborted (426 with `reason`); the sessions stay.
   */
  endCustomer(customer: string, options: EndOptions = {}): number {
    const ending = [...this.#sessions].filter((s) => s.login?.customer === customer);
    if (options.paths) return ending.filter((s) => s.withdraw(options.paths!, options.reason ?? 'release withdrawn')).length;
    for (const s of ending) void s.close(421, options.reason ?? 'Your access has ended: closing control connection');
    return ending.length;
  }

  /** Open sessions (after the greeting, logged in or not). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Passive ports listening now (a port is given back when its data connection is taken or closed). */
  get passivePortsHeld(): number {
    return this.#ports.held;
  }

  /**
   * Stops accepting connections, gives running transfers up to `graceMs` to finish, then ends every
   * session (421), which closes their data connections and releases their passive ports.
   * Idempotent.
   */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#srv.server.close(() => resolve()));
      const deadline = Date.now() + graceMs;
      while ([...this.#sessions].some((s) => s.transferring) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 25));
      await Promise.all([...this.#sessions].map((s) => s.close(421, 'Service shutting down')));
      for (const socket of this.#sockets) socket.destroy();
      for (const data of this.#dataConnections) data.close(); // those still waiting for a client to hang up
      await stopped;
      this.#srv.removeAllListeners();
      this.#o.log.info('ftp closed');
    })();
    return this.#closing;
  }

  /**
   * Before ftp-srv greets a connection: shutting down, a banned address, one over its limit, or
   * one past the cap of connections not yet logged in (maxUnauthenticatedConnections) gets 421.
   */
  #gate(socket: Socket): boolean {
    const { log, logins } = this.#o;
    this.#sockets.add(socket);
    socket.once('close', () => this.#sockets.delete(socket));
    socket.on('error', (err) => log.debug('ftp connection error', { err }));
    const clientAddress = sameAddress(socket.remoteAddress);
    if (!clientAddress) {
      socket.destroy();
      return false;
    }
    try {
      if (this.#closing) {
        refuse(socket, 421, 'Service shutting down');
        return false;
      }
      const admission = logins.connect(clientAddress, 'ftp');
      socket.once('close', () => admission.release()); // whatever happens to the session, the slots go with the socket
      this.#admitted.set(socket, { clientAddress, admission });
      return true;
    } catch (err) {
      const reply = replyOf(err);
      if (reply && !reply.internal) log.info('ftp connection refused', { clientAddress, code: codeOf(err) });
      else log.error('ftp connection gate failed', { err, clientAddress });
      refuse(socket, 421, reply?.message ?? 'Service not available, try again later');
      return false;
    }
  }

  /** ftp-srv made its connection (and greets it next): the session takes the socket's lines over. */
  #attach(connection: SrvConnection): void {
    const socket = connection.commandSocket as Socket;
    const admitted = this.#admitted.get(socket);
    if (!admitted) {
      socket.destroy();
      return;
    }
    try {
      const session = new FtpSession(connection, {
        options: this.#o,
        ports: this.#ports,
        dataConnections: this.#dataConnections,
        secureContext: this.#secureContext,
        clientAddress: admitted.clientAddress,
        dispatch,
        onLoggedIn: () => {
          admitted.admission.authenticated();
          session.live = this.#o.live?.open({
            customer: session.login!.customer,
            protocol: 'ftp',
            clientAddress: admitted.clientAddress,
            end: (reason) => {
              void session.close(421, `${reason}: closing control connection`);
              session.abortTransfer(); // now, not once the client has hung up
            },
          });
        },
        onClosed: (s) => {
          this.#sessions.delete(s);
          s.live?.close();
          admitted.admission.release();
        },
      });
      this.#sessions.add(session);
    } catch (err) {
      this.#o.log.error('ftp session setup failed', { err, clientAddress: admitted.clientAddress });
      admitted.admission.release();
      socket.destroy();
    }
  }
}

function secureContextOf(tls: { cert: string; key: string }): SecureContext {
  try {
    return createSecureContext({ cert: tls.cert, key: tls.key });
  } catch (err) {
    throw FileHostErrors.INVALID_INPUT(`options.tls is not a usable PEM certificate and key: ${(err as Error).message}`, { field: 'tls' }, err);
  }
}

/** Answers a connection that is not let in, and closes it (destroyed if the client does not hang up). */
function refuse(socket: Socket, code: number, message: string): void {
  socket.resume(); // its FIN must be read for the socket to close
  socket.end(`${code} ${message}\r\n`);
  setTimeout(() => socket.destroy(), REFUSED_GRACE_MS).unref();
}
