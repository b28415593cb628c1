import type { EventEmitter } from 'node:events';
import type { Server, Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { FtpSrv } from 'ftp-srv';
import type { Logger } from '../../../lib/log/logger.js';

/**
 * The one module that knows ftp-srv's insides (4.6.3). It is used for what it does well: the
 * listening server, the connection bookkeeping, the greeting, and a few stateless commands
 * (NOOP, SYST, TYPE, MODE, STRU, ALLO). Its pitfalls are fenced here:
 * - its constructor hooks SIGTERM/SIGINT/SIGQUIT to `process.exit(0)` (no audit flush, and one
 *   more listener per instance): those hooks are removed at once;
 * - its logger is bunyan: ours is adapted, with trace dropped;
 * - connections cannot be refused before it greets them: its `connection` listener is wrapped by
 *   a gate that may answer 421 and close instead.
 */

/** The parts of ftp-srv's connection that are used (ftp-srv.d.ts does not declare them). */
export interface SrvConnection extends EventEmitter {
  readonly id: string;
  commandSocket: Socket | TLSSocket;
  authenticated?: boolean;
  secure: boolean;
  readonly commands: { handle(line: string): PromiseLike<unknown> };
}

export interface SrvServer extends EventEmitter {
  readonly server: Server;
  readonly connections: Record<string, SrvConnection>;
  listen(): PromiseLike<unknown>;
}

type BunyanArg = unknown;
interface BunyanLike {
  trace(...args: BunyanArg[]): void;
  debug(...args: BunyanArg[]): void;
  info(...args: BunyanArg[]): void;
  warn(...args: BunyanArg[]): void;
  error(...args: BunyanArg[]): void;
  fatal(...args: BunyanArg[]): void;
  child(fields: Record<string, unknown>): BunyanLike;
}

/**
 * ftp-srv logs bunyan-style: `(fields|err, message)` or `(message, …)`. What it logs as errors is
 * client noise (EPIPE and ECONNRESET on its sockets, replies to a client that left): debug. Real
 * failures are logged by our own layer, which handles every command that can fail.
 */
function bunyanAdapter(log: Logger): BunyanLike {
  const emit =
    (level: 'debug' | 'warn' | 'error') =>
    (...args: BunyanArg[]) => {
      const fields: Record<string, unknown> = {};
      const words: string[] = [];
      for (const arg of args) {
        if (arg instanceof Error) fields.err = arg;
        else if (arg && typeof arg === 'object') Object.assign(fields, arg);
        else words.push(String(arg));
      }
      log[level](`ftp-srv: ${words.join(' ')}`, fields);
    };
  return {
    trace: () => {},
    debug: emit('debug'),
    info: emit('debug'),
    warn: emit('warn'),
    error: emit('debug'),
    fatal: emit('error'),
    child: (fields) => bunyanAdapter(log.child(fields)),
  };
}

const SIGNALS = ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const;

export interface SrvSetup {
  host: string;
  port: number;
  greeting: string;
  log: Logger;
  /**
   * Called for each new TCP connection before ftp-srv sees it: return true to let it through, or
   * false when the gate has answered and closed the socket itself.
   */
  gate(socket: Socket): boolean;
}

/** An ftp-srv server, listening not yet, with its signal hooks removed and its connections gated. */
export function createSrv(setup: SrvSetup): SrvServer {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  const host = setup.host.includes(':') ? `[${setup.host}]` : setup.host;
  const srv = new FtpSrv({
    url: `ftp://${host}:${setup.port}`,
    greeting: setup.greeting,
    log: bunyanAdapter(setup.log),
    anonymous: false,
    tls: false, // AUTH TLS is ours (auth-commands.ts)
    pasv_url: setup.host, // unused (PASV/EPSV are ours); set so that ftp-srv does not warn
  }) as unknown as SrvServer;
  for (const signal of SIGNALS) {
    for (const listener of process.listeners(signal)) {
      if (!before.get(signal)!.has(listener)) process.removeListener(signal, listener);
    }
  }
  const server = srv.server;
  const accept = server.listeners('connection') as ((socket: Socket) => void)[];
  server.removeAllListeners('connection');
  server.on('connection', (socket: Socket) => {
    if (setup.gate(socket)) for (const listener of accept) listener.call(server, socket);
  });
  return srv;
}
