/**
 * An SFTP worker: a child process of the file host running an SftpServer on the listening socket
 * it is handed; admissions and logins are asked of the file host (worker-protocol.ts). Started by
 * SftpWorkers; not run by hand.
 */
import { join } from 'node:path';
import type { KeyProbe, LoginAuthority, LoginRequest, Session } from '../common/customer-login.js';
import type { Admission } from '../common/session-limits.js';
import { answerLive, LiveSessions } from '../common/live-sessions.js';
import { AreaRoot } from '../common/path-resolver.js';
import { runWorker, sendToParent } from '../common/worker-child.js';
import type { ChecksumSource } from './checksum-command.js';
import { SftpServer } from './server.js';
import type { SftpFromWorker, SftpToWorker, SftpWorkerSettings } from './worker-protocol.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { CodedError } from '../../../lib/errors/index.js';

const send = (message: SftpFromWorker) => sendToParent(message);

const pending = new Map<number, { resolve: (value: SftpToWorker) => void }>();
let nextId = 1;

function ask(message: (id: number) => SftpFromWorker): Promise<SftpToWorker> {
  const id = nextId++;
  return new Promise((resolve) => {
    pending.set(id, { resolve });
    send(message(id));
  });
}

/** The file host's error, as it was: a catalogued error keeps its code across the IPC channel. */
function failure(error: { code: string; message: string }): CodedError {
  return new CodedError(error.code, error.message);
}

/** The file host's answers, over IPC. */
function authority(areasDir: string): LoginAuthority {
  return {
    async admit(clientAddress: string): Promise<Admission> {
      const reply = await ask((id) => ({ type: 'admit', id, clientAddress }));
      if (reply.type !== 'admitted' || reply.error)
        throw failure(reply.type === 'admitted' && reply.error ? reply.error : { code: FileHostErrors.INTERNAL.code, message: 'no admission' });
      let authenticated = false;
      let released = false;
      return {
        authenticated: () => {
          if (authenticated || released) return;
          authenticated = true;
          send({ type: 'authenticated', id: reply.id });
        },
        release: () => {
          if (released) return;
          released = true;
          send({ type: 'release', id: reply.id });
        },
      };
    },
    async keyRegistered(probe: KeyProbe): Promise<boolean> {
      const reply = await ask((id) => ({ type: 'key.check', id, probe }));
      if (reply.type !== 'key.checked' || reply.error || reply.registered === undefined)
        throw failure(reply.type === 'key.checked' && reply.error ? reply.error : { code: FileHostErrors.INTERNAL.code, message: 'no answer' });
      return reply.registered;
    },
    async login(request: LoginRequest): Promise<Session> {
      const reply = await ask((id) => ({ type: 'login', id, request }));
      if (reply.type !== 'logged-in' || reply.error || !reply.customer)
        throw failure(reply.type === 'logged-in' && reply.error ? reply.error : { code: FileHostErrors.INTERNAL.code, message: 'no login' });
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

/** The file host's checksums (its FileChecksums, shared by every worker), over IPC. */
const checksums: ChecksumSource = {
  async of(path, stats, algorithm) {
    const request = { path, stats: { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs }, algorithm };
    const reply = await ask((id) => ({ type: 'checksum', id, request }));
    if (reply.type !== 'checksummed' || reply.error || reply.hex === undefined)
      throw failure(reply.type === 'checksummed' && reply.error ? reply.error : { code: FileHostErrors.INTERNAL.code, message: 'no checksum' });
    return reply.hex;
  },
};

/** This worker's server, once it runs (the file host's messages reach it). */
let running: SftpServer | undefined;
/** The connections this worker serves now (ids of their own: see LiveSessions). */
const live = new LiveSessions('w');

runWorker<SftpWorkerSettings>({
  name: 'sftp',
  outcomeFlushMs: (settings) => settings.outcomeFlushMs,
  start: async (settings, socket, log, outcomes) => {
    const server = new SftpServer({
      host: '',
      port: 0,
      hostKey: settings.hostKey,
      loginTimeoutMs: settings.loginTimeoutMs,
      idleTimeoutMs: settings.idleTimeoutMs,
      transferIdleMs: settings.transferIdleMs,
      maxUnauthenticated: settings.maxUnauthenticated,
      maxAuthAttempts: settings.maxAuthAttempts,
      maxHandles: settings.maxHandles,
      logins: authority(settings.areasDir),
      checksums,
      outcomes,
      live,
      log,
    });
    await server.start(socket);
    running = server;
    return server;
  },
  onMessage: (raw) => {
    const message = raw as unknown as SftpToWorker;
    if (answerLive(message, live, send)) return;
    if (message.type === 'end-customer') running?.endCustomer(message.customer, { paths: message.paths, reason: message.reason });
    else if (message.type === 'admitted' || message.type === 'logged-in' || message.type === 'key.checked' || message.type === 'checksummed') {
      const waiter = pending.get(message.id);
      pending.delete(message.id);
      waiter?.resolve(message);
    }
  },
});
