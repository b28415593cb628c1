import type { AddressInfo, Server as NetServer, Socket } from 'node:net';
import ssh2, { type AuthContext, type Connection, type PublicKeyAuthContext } from 'ssh2';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import { sameAddress } from '../common/client-address.js';
import type { LoginAuthority, Session } from '../common/customer-login.js';
import type { LiveSessionHandle, LiveSessions } from '../common/live-sessions.js';
import { SCORE } from '../common/defender.js';
import type { Admission } from '../common/session-limits.js';
import { runChecksumCommand, type ChecksumSource } from './checksum-command.js';
import { DISCONNECT_REASON, disconnectionFor, disconnectWith } from './disconnect.js';
import type { EndOptions } from '../common/end-options.js';
import type { HandleBudget } from './session-options.js';
import { SftpSession } from './sftp-session.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf, isError } from '../../../lib/errors/index.js';

export interface SftpServerOptions {
  host: string;
  port: number;
  /** The SSH host key (OpenSSH or PEM private key). */
  hostKey: string | Buffer;
  /** From TCP accept: a connection not logged in by then is closed. */
  loginTimeoutMs: number;
  idleTimeoutMs: number;
  /** Replies waiting for a client that takes no byte for this long: the connection is closed, its files audited as aborted. */
  transferIdleMs: number;
  /** Connections of this server not yet logged in, at most (a fast check before the authority's, which counts every worker). */
  maxUnauthenticated: number;
  /** Authentication requests one connection may make. */
  maxAuthAttempts: number;
  /** Files and directories one connection may hold open. */
  maxHandles: number;
  logins: LoginAuthority;
  /** Checksums of area files for the SSH `sha256sum`, `sha1sum` and `md5sum` commands (in a worker: asked of the file host). */
  checksums: ChecksumSource;
  outcomes: { report(outcome: TransferOutcome): void };
  /** Where logged-in connections are listed while they last (sessions.list, session.end). */
  live?: LiveSessions;
  log: Logger;
}

/** A TCP connection from accept to close. */
interface Accepted {
  address: string;
  admission: Admission | undefined;
  authenticated: boolean;
  closed: boolean;
  loginTimer: NodeJS.Timeout;
}

/** Refused connections are logged once, then at most once per this long with their count (a flood is one line, not thousands). */
const REFUSAL_LOG_MS = 10_000;

/**
 * The file host's SFTP server (ssh2). Every TCP connection passes a gate at accept, before ssh2
 * sees it: a banned address, an address over its connection limit, or one past the cap of
 * connections not yet logged in is closed at once, and a connection not logged in within
 * loginTimeoutMs of its accept is closed (whether or not it ever sent its SSH identification).
 * Logins are password or public key, checked live through the web host (CustomerLogins); a key
 * offered without a signature is only looked up (no session, no prune), and the session is taken
 * once its signature verifies here; a login over a session limit is disconnected with the reason
 * (SSH_DISCONNECT_TOO_MANY_CONNECTIONS and the limit's message), not refused as a bad password. A
 * session may open the `sftp` subsystem, or `exec` one of the checksum commands the server answers
 * itself (checksum-command.ts: `sha256sum`, `sha1sum`, `md5sum` of area files; nothing runs a
 * program), and nothing else: no shell, no port forwarding, no agent. (An address over its
 * connection limit is closed at accept, before ssh2 or any SSH identification: the cheapest
 * answer to a flood, at the cost of an unexplained close.)
 */
export class SftpServer {
  readonly #o: SftpServerOptions;
  readonly #server: ssh2.Server;
  readonly #connections = new Set<Connection>();
  /** The customer of each logged-in connection. */
  readonly #customers = new Map<Connection, string>();
  /** The sftp sessions of each logged-in connection. */
  readonly #sftpSessions = new Map<Connection, Set<SftpSession>>();
  /** Every TCP connection open now, from accept (admitted or being admitted). */
  readonly #accepted = new Map<Socket, Accepted>();
  #unauthenticated = 0;
  #refused = { count: 0, loggedAt: 0 };
  #address: AddressInfo | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SftpServerOptions) {
    this.#o = options;
    this.#server = new ssh2.Server({ hostKeys: [options.hostKey], ident: 'fulfillment-sftp' }, (client) => this.#accept(client));
    this.#server.on('error', (err: Error) => options.log.error('sftp server error', { err }));
    gateConnections(this.#server, (socket, handOver) => this.#gate(socket, handOver));
  }

  /** Listens on the configured port, or on a listening socket handed over (worker processes). */
  start(handle?: unknown): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once('error', reject);
      const args: unknown[] = handle === undefined ? [this.#o.port, this.#o.host] : [handle];
      (this.#server.listen as (...a: unknown[]) => void)(...args, () => {
        this.#server.off('error', reject);
        this.#address = this.#server.address() as AddressInfo;
        resolve(this.#address);
      });
    });
  }

  get address(): AddressInfo {
    return this.#address!;
  }

  /**
   * Ends every connection of the customer (its access ended) with an SSH disconnect saying why;
   * their transfers are audited as aborted. With `paths` (releases the customer lost), only the
   * open files under them are cut off: their further READs fail with `reason`.
   */
  endCustomer(customer: string, options: EndOptions = {}): number {
    let ended = 0;
    for (const [client, holder] of this.#customers) {
      if (holder !== customer) continue;
      if (options.paths) {
        for (const s of this.#sftpSessions.get(client) ?? []) ended += s.withdraw(options.paths, options.reason ?? 'release withdrawn');
        continue;
      }
      disconnectWith(client, DISCONNECT_REASON.byApplication, options.reason ?? 'Your access has ended');
      ended++;
    }
    return ended;
  }

  /** Stops accepting, then ends every connection (after graceMs for those still transferring). */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      for (const [socket, accepted] of this.#accepted) if (!accepted.authenticated) socket.destroy(); // nothing to finish
      const deadline = Date.now() + graceMs;
      while (this.#connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const client of this.#connections) client.end();
      await stopped;
    })();
    return this.#closing;
  }

  /**
   * At TCP accept, before ssh2 sees the socket: the login clock starts, this server's cap of
   * connections not yet logged in is checked, then the authority's (ban, per-address limit, the
   * cap over every worker). Only an admitted socket is handed to ssh2; whatever the connection
   * holds is given back when the socket closes, however it ends.
   */
  #gate(socket: Socket, handOver: () => void): void {
    const { logins, log } = this.#o;
    socket.on('error', (err) => log.debug('ssh socket error', { err }));
    const address = sameAddress(socket.remoteAddress);
    if (!address || this.#closing) return void socket.destroy();
    if (this.#unauthenticated >= this.#o.maxUnauthenticated) {
      this.#noteRefused(address, `${this.#o.maxUnauthenticated} connections are waiting to log in already`);
      return void socket.destroy();
    }
    this.#unauthenticated++;
    const accepted: Accepted = {
      address,
      admission: undefined,
      authenticated: false,
      closed: false,
      loginTimer: setTimeout(() => {
        log.info('ssh login timed out', { clientAddress: address });
        socket.destroy();
      }, this.#o.loginTimeoutMs),
    };
    this.#accepted.set(socket, accepted);
    socket.once('close', () => {
      accepted.closed = true;
      clearTimeout(accepted.loginTimer);
      if (!accepted.authenticated) this.#unauthenticated--;
      accepted.admission?.release();
      this.#accepted.delete(socket);
    });
    logins.admit(address).then(
      (admission) => {
        if (accepted.closed) return admission.release();
        accepted.admission = admission;
        handOver();
      },
      (err: Error) => {
        this.#noteRefused(address, err.message);
        socket.destroy();
      },
    );
  }

  #noteRefused(address: string, reason: string): void {
    const now = Date.now();
    this.#refused.count++;
    if (now - this.#refused.loggedAt < REFUSAL_LOG_MS) return;
    this.#o.log.info('ssh connection refused', { clientAddress: address, reason, refusedSinceLastLine: this.#refused.count });
    this.#refused = { count: 0, loggedAt: now };
  }

  #loggedIn(accepted: Accepted): void {
    if (accepted.authenticated) return;
    accepted.authenticated = true;
    this.#unauthenticated--;
    clearTimeout(accepted.loginTimer);
    accepted.admission?.authenticated();
  }

  #accept(client: Connection): void {
    const { logins, log } = this.#o;
    const socket = (client as unknown as { _sock?: Socket })._sock;
    const accepted = socket && this.#accepted.get(socket);
    if (!socket || !accepted) {
      client.end(); // not through the gate (cannot happen: every socket is)
      return;
    }
    const address = accepted.address;
    client.on('error', (err: Error) => log.debug('ssh connection error', { err, clientAddress: address }));
    this.#connections.add(client);
    socket.setNoDelay(true); // replies go out at once
    let session: Session | undefined;
    let attempts = 0;
    let idleTimer: NodeJS.Timeout | undefined;
    const touch = () => {
      if (idleTimer) idleTimer.refresh();
      else idleTimer = setTimeout(() => client.end(), this.#o.idleTimeoutMs);
    };
    const sftpSessions = new Set<SftpSession>();
    this.#sftpSessions.set(client, sftpSessions);
    const handles: HandleBudget = { open: 0, max: this.#o.maxHandles };
    let live: LiveSessionHandle | undefined;

    client.on('authentication', (ctx: AuthContext) => {
      attempts++;
      if (attempts <= this.#o.maxAuthAttempts) return authenticate(ctx);
      if (attempts === this.#o.maxAuthAttempts + 1) {
        log.info('ssh authentication attempts exhausted: closing', { clientAddress: address, attempts: this.#o.maxAuthAttempts });
        logins.failed(address, SCORE.tooManyAuthAttempts);
      }
      ctx.reject();
      client.end();
    });
    const methods: ssh2.AuthenticationType[] = ['password', 'publickey'];
    const authenticate = (ctx: AuthContext) => {
      // A login that succeeds after the connection closed (or after another one) holds nothing.
      const accept = (s: Session) => {
        if (accepted.closed || session) {
          s.end();
          if (!accepted.closed) ctx.reject(methods);
          return;
        }
        session = s;
        this.#customers.set(client, s.customer);
        ctx.accept();
      };
      if (ctx.method === 'password') {
        logins
          .login({ login: ctx.username, password: ctx.password, protocol: 'sftp', clientAddress: address })
          .then(accept, (err: Error) => this.#refuse(ctx, client, address, err));
        return;
      }
      if (ctx.method === 'publickey') {
        const publicKey = { algorithm: ctx.key.algo, key: ctx.key.data.toString('base64') };
        if (!ctx.signature) {
          // A probe: is the key registered? No session, no prune; a key that is not is no failure.
          logins.keyRegistered({ login: ctx.username, publicKey, protocol: 'sftp', clientAddress: address }).then(
            (registered) => (registered ? ctx.accept() : ctx.reject(methods)),
            (err: Error) => this.#refuse(ctx, client, address, err),
          );
          return;
        }
        if (!verifies(ctx)) {
          logins.failed(address, SCORE.wrongPassword);
          ctx.reject(methods);
          return;
        }
        logins
          .login({ login: ctx.username, publicKey, protocol: 'sftp', clientAddress: address })
          .then(accept, (err: Error) => this.#refuse(ctx, client, address, err));
        return;
      }
      ctx.reject(methods);
    };

    client.on('ready', () => {
      this.#loggedIn(accepted);
      touch();
      const customer = session!;
      live = this.#o.live?.open({
        customer: customer.customer,
        protocol: 'sftp',
        clientAddress: address,
        end: (reason) => disconnectWith(client, DISCONNECT_REASON.byApplication, reason),
      });
      client.on('session', (acceptSession) => {
        const channel = acceptSession();
        channel.on('sftp', (acceptSftp, rejectSftp) => {
          const sftp = acceptSftp() as ssh2.SFTPWrapper | undefined; // undefined when the session channel is ending or runs something already
          if (!sftp) return rejectSftp();
          const sftpSession = new SftpSession(sftp, {
            customer: customer.customer,
            clientAddress: address,
            root: customer.root,
            outcomes: this.#o.outcomes,
            log,
            onActivity: touch,
            handles,
            transferIdleMs: this.#o.transferIdleMs,
            onStall: () => socket.destroy(),
            socket,
            live,
          });
          sftpSessions.add(sftpSession);
          sftp.once('close', () => sftpSessions.delete(sftpSession));
        });
        channel.on('exec', (acceptExec: () => ssh2.ServerChannel | undefined, reject: () => void, info: ssh2.ExecInfo) => {
          const exec = acceptExec(); // undefined when the session channel is ending or runs something already
          if (!exec) return reject();
          runChecksumCommand(exec, info.command, {
            customer: customer.customer,
            clientAddress: address,
            root: customer.root,
            checksums: this.#o.checksums,
            handles,
            onActivity: touch,
            log,
          });
        });
        for (const refused of ['shell', 'pty', 'env', 'x11', 'auth-agent', 'signal', 'window-change'] as const) {
          channel.on(refused, (_accept: unknown, reject?: () => void) => reject?.());
        }
        channel.on('subsystem', (_accept: unknown, reject: () => void) => reject());
      });
      client.on('tcpip', (_accept: unknown, reject: () => void) => reject());
      client.on('openssh.streamlocal', (_accept: unknown, reject: () => void) => reject());
      client.on('request', (_accept: unknown, reject?: () => void) => reject?.());
    });

    client.on('close', () => {
      if (idleTimer) clearTimeout(idleTimer);
      for (const s of sftpSessions) s.end();
      live?.close();
      session?.end();
      this.#connections.delete(client);
      this.#customers.delete(client);
      this.#sftpSessions.delete(client);
    });
  }

  #refuse(ctx: AuthContext, client: Connection, address: string, err: Error): void {
    const disconnection = disconnectionFor(err);
    if (disconnection) {
      this.#o.log.info('sftp login refused with its reason: disconnected', { clientAddress: address, code: codeOf(err), reason: err.message });
      return disconnectWith(client, disconnection.reason, disconnection.description);
    }
    if (!isError(err, FileHostErrors.AUTH_REFUSED) && !isError(err, FileHostErrors.BANNED)) {
      this.#o.log[isError(err, FileHostErrors.GATEWAY_UNAVAILABLE) ? 'warn' : 'error']('sftp login failed', { err, clientAddress: address });
    }
    ctx.reject(['password', 'publickey']);
  }
}

/** Whether a public-key request's signature verifies against its key. */
function verifies(ctx: PublicKeyAuthContext): boolean {
  const parsed = ssh2.utils.parseKey(`${ctx.key.algo} ${ctx.key.data.toString('base64')}`);
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  return Boolean(key && !(key instanceof Error) && ctx.signature && key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo));
}

/**
 * ssh2 makes its connection (and writes its identification) in its net server's `connection`
 * listener, and tells nothing until the client's identification line has come: that listener is
 * wrapped so every TCP connection passes `gate` first, which calls `handOver` to let ssh2 have it.
 * (A private field: `_srv` is ssh2's net.Server; ssh2 offers no hook at accept.)
 */
function gateConnections(server: ssh2.Server, gate: (socket: Socket, handOver: () => void) => void): void {
  const net = (server as unknown as { _srv?: NetServer })._srv;
  if (!net) throw new Error('ssh2.Server has no _srv: the accept gate cannot be installed (ssh2 changed)');
  const listeners = net.listeners('connection') as ((socket: Socket) => void)[];
  net.removeAllListeners('connection');
  net.on('connection', (socket: Socket) => gate(socket, () => listeners.forEach((listener) => listener.call(net, socket))));
}
