import { isIP, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { Logger } from '../../../lib/log/logger.js';
import type { Session } from '../common/customer-login.js';
import type { LiveSessionHandle } from '../common/live-sessions.js';
import { ControlLines } from './control-lines.js';
import { sameAddress } from '../common/client-address.js';
import { DataConnection } from './data-connection.js';
import { DEFAULT_HASH, type FtpHash } from './hash-names.js';
import { MLST_FACTS, type MlstFact } from './mlsd.js';
import type { ResolvedFtpOptions } from './options.js';
import type { PassivePorts } from './passive-ports.js';
import { ReadOnlyArea } from './read-only-fs.js';
import { oneLine } from './replies.js';
import type { SrvConnection } from './srv-adapter.js';

/** A command line longer than this (a 4096-byte path and the directive) ends the session. */
const MAX_LINE_BYTES = 4096 + 64;
/** Commands a client may send ahead without waiting for replies. */
const MAX_QUEUED = 64;
/** How long a closing session waits for the client to take its last reply and hang up. */
const CLOSE_GRACE_MS = 2000;

export type TransferResult = 'complete' | 'aborted' | 'no-connection';

/** The reply after a transfer. */
export const TRANSFER_REPLIES: Readonly<Record<TransferResult, [number, string]>> = Object.freeze({
  complete: [226, 'Transfer complete'],
  aborted: [426, 'Connection closed; transfer aborted'],
  'no-connection': [425, 'Cannot open data connection: nothing connected to the passive port'],
});

export interface SessionSetup {
  options: ResolvedFtpOptions;
  ports: PassivePorts;
  /** The server's open data connections. */
  dataConnections: Set<DataConnection>;
  secureContext: SecureContext | undefined;
  clientAddress: string;
  /** Runs one command line; never rejects (commands.ts). */
  dispatch(session: FtpSession, line: string): Promise<void>;
  /** Called after a successful login (the connection no longer counts as waiting to log in). */
  onLoggedIn?(): void;
  /** Called once, when the control connection has closed. */
  onClosed(session: FtpSession): void;
}

/**
 * One control connection: its state (login, working directory, REST offset, TLS and PROT), its
 * lines run one command at a time, its data connection, its timers, and its end. Replies are
 * written here; which reply a command gets is the commands' business.
 *
 * Invariants: at most one command runs at a time, and at most one data connection is open; when
 * the control connection closes, the data connection is closed, a running transfer aborted, the
 * customer session ended and the address slot released, once.
 */
export class FtpSession {
  readonly connection: SrvConnection;
  readonly options: ResolvedFtpOptions;
  readonly clientAddress: string;
  readonly secureContext: SecureContext | undefined;
  readonly log: Logger;

  /** USER given, PASS not yet. */
  user: string | undefined;
  /** The customer session, after PASS. */
  login: Session | undefined;
  area: ReadOnlyArea | undefined;
  cwd = '/';
  restOffset = 0;
  pbsz = false;
  protectData = false;
  epsvAll = false;
  mlstFacts: Set<MlstFact> = new Set(MLST_FACTS);
  /** HASH's algorithm (OPTS HASH). */
  hash: FtpHash = DEFAULT_HASH;
  /** This session in the live sessions, once logged in. */
  live: LiveSessionHandle | undefined;

  readonly #setup: SessionSetup;
  #socket: Socket | TLSSocket;
  readonly #lines = new ControlLines(MAX_LINE_BYTES);
  readonly #queue: string[] = [];
  #draining = false;
  #data: DataConnection | undefined;
  #transfer: DataConnection | undefined;
  /** The area path the running transfer sends (RETR), and why it was cut off when it was withdrawn. */
  #transferPath: string | undefined;
  #withdrawn: string | undefined;
  #loginTimer: NodeJS.Timeout | undefined;
  #idleTimer: NodeJS.Timeout | undefined;
  #closing: Promise<void> | undefined;
  #closed = false;
  readonly #whenClosed: Promise<void>;
  #markClosed!: () => void;
  readonly #onData = (chunk: Buffer) => this.#receive(chunk);

  constructor(connection: SrvConnection, setup: SessionSetup) {
    this.connection = connection;
    this.#setup = setup;
    this.options = setup.options;
    this.clientAddress = setup.clientAddress;
    this.secureContext = setup.secureContext;
    this.log = setup.options.log.child({ clientAddress: setup.clientAddress, ftpSession: connection.id.slice(0, 8) });
    this.#whenClosed = new Promise((resolve) => (this.#markClosed = resolve));
    const socket = connection.commandSocket as Socket;
    this.#socket = socket;
    socket.removeAllListeners('data'); // ftp-srv's per-chunk splitter: lines are ours (control-lines.ts)
    socket.on('data', this.#onData);
    socket.on('error', (err) => this.log.debug('control connection error', { err }));
    socket.once('close', () => this.#cleanup());
    this.#loginTimer = setTimeout(() => {
      if (!this.login) void this.close(421, 'Login timeout: closing control connection');
    }, setup.options.loginTimeoutMs);
  }

  get secure(): boolean {
    return this.connection.secure;
  }

  get closed(): boolean {
    return this.#closed || this.#closing !== undefined;
  }

  /** A RETR, LIST, NLST or MLSD is moving data now. */
  get transferring(): boolean {
    return this.#transfer !== undefined;
  }

  /** One reply line. */
  reply(code: number, text: string): Promise<void> {
    return this.#write(`${code} ${oneLine(text)}\r\n`);
  }

  /** A multi-line reply: `code-first`, the body lines verbatim (each starts with a space), `code last`. */
  replyLines(code: number, first: string, body: readonly string[], last: string): Promise<void> {
    return this.#write(`${code}-${oneLine(first)}\r\n${body.map((l) => `${oneLine(l, 4200)}\r\n`).join('')}${code} ${oneLine(last)}\r\n`);
  }

  #write(text: string): Promise<void> {
    const socket = this.#socket;
    if (!socket.writable || socket.destroyed) return Promise.resolve();
    return new Promise((resolve) => socket.write(text, () => resolve()));
  }

  /** After a successful PASS. */
  loggedIn(session: Session): void {
    this.login = session;
    this.area = new ReadOnlyArea(session.root);
    this.cwd = '/';
    this.connection.authenticated = true; // for the commands ftp-srv still answers (TYPE, MODE …)
    clearTimeout(this.#loginTimer);
    this.#setup.onLoggedIn?.();
    this.#touch();
  }

  /** The address PASV announces: the configured one, the host, or the address the client reached. */
  passiveAddress(): string | undefined {
    const { passiveAddress, host } = this.options;
    if (passiveAddress) return passiveAddress;
    if (isIP(host) === 4 && host !== '0.0.0.0') return host;
    const local = sameAddress(this.#socket.localAddress);
    return isIP(local) === 4 ? local : undefined;
  }

  /** A new passive data connection (closing the previous one); undefined when no port is free. */
  async openData(): Promise<DataConnection | undefined> {
    this.dropData();
    const data = await DataConnection.open(this.#setup.ports, {
      clientAddress: this.clientAddress,
      secureContext: this.protectData ? this.secureContext : undefined,
      idleTimeoutMs: this.options.idleTimeoutMs,
      open: this.#setup.dataConnections,
      log: this.log,
    });
    if (data && this.closed) {
      data.close();
      return undefined;
    }
    this.#data = data;
    return data;
  }

  /** The open data connection, now the caller's to use and close. */
  takeData(): DataConnection | undefined {
    const data = this.#data;
    this.#data = undefined;
    return data;
  }

  dropData(): void {
    this.takeData()?.close();
  }

  /**
   * Runs `send` on the data connection once the client is connected: the transfer an ABOR or the
   * end of the session aborts. Resolves 'complete' when everything was sent, 'no-connection' when
   * the client never connected, 'aborted' otherwise; the data connection is closed either way
   * (after a complete send, once the client has hung up or a grace period has passed).
   */
  async transfer(data: DataConnection, send: (socket: Socket | TLSSocket) => Promise<void>, path?: string): Promise<TransferResult> {
    if (this.closed) {
      data.close(); // the session ended while the command was getting ready
      return 'aborted';
    }
    this.#transfer = data;
    this.#transferPath = path;
    this.#withdrawn = undefined;
    try {
      const socket = await data.socket();
      await send(socket);
      data.end();
      return 'complete';
    } catch (err) {
      this.log.debug('transfer aborted', { err });
      const connected = data.connected;
      data.close();
      return connected ? 'aborted' : 'no-connection';
    } finally {
      this.#transfer = undefined;
      this.#transferPath = undefined;
      this.#touch();
    }
  }

  /**
   * The customer lost a release: a transfer of a file under one of `paths` (prefixes of area paths)
   * is aborted, and its 426 says `reason`. Returns whether one was.
   */
  withdraw(paths: readonly string[], reason: string): boolean {
    const path = this.#transferPath;
    if (path === undefined || !paths.some((p) => path.startsWith(p))) return false;
    this.#withdrawn = reason;
    return this.abortTransfer();
  }

  /** Why the last transfer was withdrawn (once), if it was. */
  takeWithdrawn(): string | undefined {
    const reason = this.#withdrawn;
    this.#withdrawn = undefined;
    return reason;
  }

  /** ABOR, or the session ending: the running transfer's data connection is closed. */
  abortTransfer(): boolean {
    const running = this.#transfer;
    running?.close();
    return running !== undefined;
  }

  /**
   * AUTH TLS: replies 234, then the control connection is TLS. Lines that came with the AUTH
   * command are dropped (plaintext injected before the handshake must not run as commands).
   */
  async startTls(secureContext: SecureContext): Promise<void> {
    const raw = this.#socket as Socket;
    raw.removeListener('data', this.#onData);
    raw.pause(); // bytes after AUTH TLS stay buffered: the TLS socket reads them as the handshake
    this.#queue.length = 0;
    this.#lines.reset();
    await this.reply(234, 'AUTH TLS OK: negotiate TLS now');
    if (this.closed) return;
    const secure = new TLSSocket(raw, { isServer: true, secureContext });
    // ftp-srv keeps listening on the raw socket: close and error are forwarded to it, as its own AUTH does.
    secure.on('close', () => raw.emit('close'));
    secure.on('error', (err) => {
      this.log.debug('control connection TLS error', { err });
      secure.destroy();
    });
    secure.on('data', this.#onData);
    this.#socket = secure;
    this.connection.commandSocket = secure;
    this.connection.secure = true;
  }

  /**
   * Ends the session: the reply (421 …) if given, then the control connection is closed; resolves
   * once it is. Idempotent.
   */
  close(code?: number, message?: string): Promise<void> {
    this.#closing ??= (async () => {
      this.#stopTimers();
      this.#queue.length = 0;
      const socket = this.#socket;
      if (code !== undefined) await Promise.race([this.reply(code, message ?? ''), delay(CLOSE_GRACE_MS)]);
      socket.end();
      const force = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS);
      await this.#whenClosed;
      clearTimeout(force);
    })();
    return this.#closing;
  }

  #receive(chunk: Buffer): void {
    if (this.closed) return;
    const lines = this.#lines.push(chunk);
    if (lines === 'overflow') {
      void this.close(500, 'Command line too long');
      return;
    }
    for (const line of lines) {
      if (line.trim() === '') continue;
      // ABOR acts at once on a running transfer; its reply still comes in turn (after the 426).
      if (/^\s*ABOR\s*$/i.test(line)) this.abortTransfer();
      this.#queue.push(line);
    }
    if (this.#queue.length > MAX_QUEUED) {
      void this.close(421, 'Too many commands sent ahead of their replies');
      return;
    }
    void this.#drain();
  }

  async #drain(): Promise<void> {
    if (this.#draining) return;
    this.#draining = true;
    try {
      let line: string | undefined;
      while (!this.closed && (line = this.#queue.shift()) !== undefined) {
        this.#touch();
        await this.#setup.dispatch(this, line);
      }
    } finally {
      this.#draining = false;
    }
  }

  #touch(): void {
    if (!this.login || this.closed) return;
    if (this.#idleTimer) this.#idleTimer.refresh();
    else {
      this.#idleTimer = setTimeout(() => {
        if (this.transferring) this.#idleTimer?.refresh();
        else void this.close(421, 'Idle timeout: closing control connection');
      }, this.options.idleTimeoutMs);
    }
  }

  #stopTimers(): void {
    clearTimeout(this.#loginTimer);
    clearTimeout(this.#idleTimer);
  }

  #cleanup(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTimers();
    this.#queue.length = 0;
    this.abortTransfer();
    this.dropData();
    if (!this.#socket.destroyed) this.#socket.destroy();
    this.login?.end();
    this.#markClosed();
    this.#setup.onClosed(this);
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
