/**
 * An SFTP worker: a child process of the file host running an SftpServer on the listening socket
 * it is handed; admissions and logins are asked of the file host (worker-protocol.ts). Started by
 * SftpWorkers; not run by hand.
 */
import type { Server as NetServer } from 'node:net';
import { join } from 'node:path';
import type { Logger, LogLevel } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { LoginAuthority, LoginRequest, Session } from '../common/customer-login.js';
import { AreaRoot } from '../common/path-resolver.js';
import { SftpServer } from './server.js';
import type { SftpFromWorker, SftpToWorker, SftpWorkerSettings } from './worker-protocol.js';

const send = (message: SftpFromWorker, handle?: NetServer) => {
  if (process.connected) process.send!(message, handle as never);
};

function ipcLogger(fields: Record<string, unknown>): Logger {
  const at = (level: LogLevel) => (msg: string, more?: Record<string, unknown>) => {
    const record: Record<string, unknown> = { ...fields, ...more };
    for (const [k, v] of Object.entries(record)) if (v instanceof Error) record[k] = { name: v.name, message: v.message, stack: v.stack, code: (v as { code?: unknown }).code };
    send({ type: 'log', level, msg, fields: record });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => ipcLogger({ ...fields, ...more }) };
}

const pending = new Map<number, { resolve: (value: SftpToWorker) => void }>();
let nextId = 1;

function ask(message: (id: number) => SftpFromWorker): Promise<SftpToWorker> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { resolve });
    send(message(id));
  });
}

function failure(error: { code: string; message: string }): Error {
  return Object.assign(new Error(error.message), { code: error.code });
}

/** The file host's answers, over IPC. */
function authority(areasDir: string): LoginAuthority {
  return {
    async admit(clientAddress: string) {
      const reply = await ask((id) => ({ type: 'admit', id, clientAddress }));
      if (reply.type !== 'admitted' || reply.error) throw failure(reply.type === 'admitted' && reply.error ? reply.error : { code: 'ERR_INTERNAL', message: 'no admission' });
      let released = false;
      return () => {
        if (released) return;
        released = true;
        send({ type: 'release', id: reply.id });
      };
    },
    async login(request: LoginRequest): Promise<Session> {
      const reply = await ask((id) => ({ type: 'login', id, request }));
      if (reply.type !== 'logged-in' || reply.error || !reply.customer) throw failure(reply.type === 'logged-in' && reply.error ? reply.error : { code: 'ERR_INTERNAL', message: 'no login' });
      let ended = false;
      return {
        customer: reply.customer,
        name: reply.name ?? reply.customer,
        root: new AreaRoot(join(areasDir, reply.customer)),
        end: () => {
          if (ended) return;
          ended = true;
          send({ type: 'end', id: reply.id });
        },
      };
    },
    failed(clientAddress: string, score: number) {
      send({ type: 'failed', clientAddress, score });
    },
  };
}

let server: SftpServer | undefined;
let listening: NetServer | undefined;
let outcomes: TransferOutcome[] = [];

function start(settings: SftpWorkerSettings & { workerId: number }, handle: NetServer): void {
  const log = ipcLogger({ worker: `sftp-${settings.workerId}` });
  const flush = () => {
    if (outcomes.length === 0) return;
    send({ type: 'outcomes', outcomes });
    outcomes = [];
  };
  setInterval(flush, settings.outcomeFlushMs).unref();
  server = new SftpServer({
    host: '',
    port: 0,
    hostKey: settings.hostKey,
    loginTimeoutMs: settings.loginTimeoutMs,
    idleTimeoutMs: settings.idleTimeoutMs,
    logins: authority(settings.areasDir),
    outcomes: {
      report: (outcome) => {
        outcomes.push(outcome);
        if (outcomes.length >= 200) flush();
      },
    },
    log,
  });
  listening = handle;
  server.start(handle).then(
    () => send({ type: 'ready' }),
    (err: Error) => {
      log.error('sftp worker cannot listen', { err });
      process.exit(1);
    },
  );
  process.on('uncaughtException', (err) => {
    log.error('sftp worker failed', { err });
    flush();
    process.exit(1);
  });
  process.once('disconnect', () => process.exit(0));
  closeHook = async (graceMs) => {
    await server!.close(graceMs);
    flush();
    send({ type: 'closed' });
    process.disconnect();
  };
}

let closeHook: ((graceMs: number) => Promise<void>) | undefined;

process.on('message', (message: SftpToWorker, handle?: NetServer) => {
  switch (message.type) {
    case 'init':
      if (handle) start(message.settings, handle);
      break;
    case 'admitted':
    case 'logged-in': {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      waiter?.resolve(message);
      break;
    }
    case 'handle.request':
      if (listening) send({ type: 'handle' }, listening);
      break;
    case 'close':
      void closeHook?.(message.graceMs);
      break;
  }
});

// Loaded: the file host may now hand over the listening socket.
send({ type: 'booted' });
