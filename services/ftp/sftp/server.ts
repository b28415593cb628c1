import type { AddressInfo } from 'node:net';
import ssh2, { type AuthContext, type Connection, type PublicKeyAuthContext } from 'ssh2';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { LoginAuthority, Session } from '../common/customer-login.js';
import { SftpSession } from './sftp-session.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { isError } from '../../../lib/errors/index.js';

export interface SftpServerOptions {
  host: string;
  port: number;
  /** The SSH host key (OpenSSH or PEM private key). */
  hostKey: string | Buffer;
  loginTimeoutMs: number;
  idleTimeoutMs: number;
  logins: LoginAuthority;
  outcomes: { report(outcome: TransferOutcome): void };
  log: Logger;
}

/**
 * The file host's SFTP server (ssh2). Logins are password or public key, checked live through the
 * web host (CustomerLogins); the key must be registered with the internal-db and its signature is
 * verified here. A session may open the `sftp` subsystem and nothing else: no shell, no exec, no
 * port forwarding, no agent. Banned addresses, per-address and per-customer limits, and login and
 * idle timeouts apply to every connection.
 */
export class SftpServer {
  readonly #o: SftpServerOptions;
  readonly #server: ssh2.Server;
  readonly #connections = new Set<Connection>();
  #address: AddressInfo | undefined;
  #closing: Promise<void> | undefined;

  constructor(options: SftpServerOptions) {
    this.#o = options;
    this.#server = new ssh2.Server({ hostKeys: [options.hostKey], ident: 'fulfillment-sftp' }, (client, info) => this.#accept(client, info.ip));
    this.#server.on('error', (err: Error) => options.log.error('sftp server error', { err }));
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

  /** Stops accepting, then ends every connection (after graceMs for those still transferring). */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= (async () => {
      const stopped = new Promise<void>((resolve) => this.#server.close(() => resolve()));
      const deadline = Date.now() + graceMs;
      while (this.#connections.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      for (const client of this.#connections) client.end();
      await stopped;
    })();
    return this.#closing;
  }

  #accept(client: Connection, address: string): void {
    const { logins, log } = this.#o;
    client.on('error', (err: Error) => log.debug('ssh connection error', { err, clientAddress: address }));
    let releaseAddress: (() => void) | undefined;
    let refused = false;
    let closed = false;
    // Banned or over its limit: the connection is closed as soon as that is known; until then no
    // login is looked at (the authentication handler waits for this).
    const admitted = logins.admit(address).then(
      (release) => {
        if (refused || closed) release();
        else releaseAddress = release;
        return true;
      },
      (err: Error) => {
        refused = true;
        log.info('ssh connection refused', { clientAddress: address, reason: err.message });
        client.end();
        return false;
      },
    );
    this.#connections.add(client);
    // ssh2 types omit it: Connection.setNoDelay exists (lib/server.js). Replies go out at once.
    (client as unknown as { setNoDelay?: (noDelay: boolean) => void }).setNoDelay?.(true);
    let session: Session | undefined;
    let probe: { key: string; result: Promise<Session> } | undefined;
    let idleTimer: NodeJS.Timeout | undefined;
    const loginTimer = setTimeout(() => {
      log.info('ssh login timed out', { clientAddress: address });
      client.end();
    }, this.#o.loginTimeoutMs);
    const touch = () => {
      if (idleTimer) idleTimer.refresh();
      else idleTimer = setTimeout(() => client.end(), this.#o.idleTimeoutMs);
    };
    const sftpSessions = new Set<SftpSession>();

    client.on('authentication', (ctx: AuthContext) => void admitted.then((ok) => (ok ? authenticate(ctx) : ctx.reject())));
    const authenticate = (ctx: AuthContext) => {
      const accept = (s: Session) => {
        if (session && s !== session)
          s.end(); // a second success (should not happen) keeps the first
        else if (!session) session = s;
        ctx.accept();
      };
      if (ctx.method === 'password') {
        logins
          .login({ login: ctx.username, password: ctx.password, protocol: 'sftp', clientAddress: address })
          .then(accept, (err: Error) => this.#refuse(ctx, address, err));
        return;
      }
      if (ctx.method === 'publickey') {
        this.#publicKey(ctx, address, probe).then(
          (result) => {
            if (result.kind === 'probe') {
              probe = result.probe;
              ctx.accept();
            } else accept(result.session);
          },
          (err: Error) => this.#refuse(ctx, address, err),
        );
        return;
      }
      ctx.reject(['password', 'publickey']);
    };

    client.on('ready', () => {
      clearTimeout(loginTimer);
      touch();
      const customer = session!;
      // A key probed but then not used for the login leaves no session behind.
      if (probe)
        void probe.result.then(
          (s) => s !== customer && s.end(),
          () => {},
        );
      client.on('session', (acceptSession) => {
        const channel = acceptSession();
        channel.on('sftp', (acceptSftp) => {
          const sftp = acceptSftp();
          sftpSessions.add(
            new SftpSession(sftp, {
              customer: customer.customer,
              clientAddress: address,
              root: customer.root,
              outcomes: this.#o.outcomes,
              log,
              onActivity: touch,
              socket: socketOf(client),
            }),
          );
        });
        for (const refused of ['exec', 'shell', 'pty', 'env', 'x11', 'auth-agent', 'signal', 'window-change'] as const) {
          channel.on(refused, (_accept: unknown, reject?: () => void) => reject?.());
        }
        channel.on('subsystem', (_accept: unknown, reject: () => void) => reject());
      });
      client.on('tcpip', (_accept: unknown, reject: () => void) => reject());
      client.on('openssh.streamlocal', (_accept: unknown, reject: () => void) => reject());
      client.on('request', (_accept: unknown, reject?: () => void) => reject?.());
    });

    client.on('close', () => {
      closed = true;
      clearTimeout(loginTimer);
      if (idleTimer) clearTimeout(idleTimer);
      for (const s of sftpSessions) s.end();
      session?.end();
      if (probe)
        void probe.result.then(
          (s) => s.end(),
          () => {},
        );
      releaseAddress?.();
      this.#connections.delete(client);
    });
  }

  /**
   * Public-key login. A client first asks whether a key would do (no signature): the login is
   * checked then, once, and remembered for this connection. With the signature, the signature is
   * verified against the key, and the remembered login (or a fresh one) is the session.
   */
  async #publicKey(
    ctx: PublicKeyAuthContext,
    address: string,
    probe: { key: string; result: Promise<Session> } | undefined,
  ): Promise<{ kind: 'probe'; probe: { key: string; result: Promise<Session> } } | { kind: 'session'; session: Session }> {
    const keyB64 = ctx.key.data.toString('base64');
    const id = `${ctx.username}\u0000${ctx.key.algo}\u0000${keyB64}`;
    const login = () =>
      this.#o.logins.login({ login: ctx.username, publicKey: { algorithm: ctx.key.algo, key: keyB64 }, protocol: 'sftp', clientAddress: address });
    if (!ctx.signature) {
      const result = login();
      await result;
      return { kind: 'probe', probe: { key: id, result } };
    }
    const parsed = ssh2.utils.parseKey(`${ctx.key.algo} ${keyB64}`);
    const key = Array.isArray(parsed) ? parsed[0] : parsed;
    if (!key || key instanceof Error || !key.verify(ctx.blob!, ctx.signature, ctx.hashAlgo)) {
      this.#o.logins.failed(address, 1);
      throw FileHostErrors.AUTH_REFUSED('public key signature does not verify');
    }
    const session = probe?.key === id ? await probe.result : await login();
    return { kind: 'session', session };
  }

  #refuse(ctx: AuthContext, address: string, err: Error): void {
    if (!isError(err, FileHostErrors.AUTH_REFUSED) && !isError(err, FileHostErrors.BANNED)) {
      const temporary = isError(err, FileHostErrors.GATEWAY_UNAVAILABLE) || isError(err, FileHostErrors.TOO_MANY_SESSIONS);
      this.#o.log[temporary ? 'warn' : 'error']('sftp login failed', { err, clientAddress: address });
    }
    ctx.reject(['password', 'publickey']);
  }
}

/** The TCP socket under an ssh2 connection (a private field: ssh2 exposes only setNoDelay). */
function socketOf(client: Connection): { cork(): void; uncork(): void; destroyed: boolean } | undefined {
  const socket = (client as unknown as { _sock?: { cork?: () => void; uncork?: () => void; destroyed: boolean } })._sock;
  return socket && typeof socket.cork === 'function' && typeof socket.uncork === 'function'
    ? (socket as { cork(): void; uncork(): void; destroyed: boolean })
    : undefined;
}
