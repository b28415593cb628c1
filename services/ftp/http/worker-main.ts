/**
 * An HTTP download worker: a child process of the file host serving downloads on the listening
 * socket it is handed. Started by DownloadWorkers (download-workers.ts); not run by hand.
 */
import type { Stats } from 'node:fs';
import type { Server as NetServer } from 'node:net';
import type { Logger, LogLevel } from '../../../lib/log/logger.js';
import { TicketVerifier } from '../../../lib/tickets/index.js';
import { Areas } from '../common/areas.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import { OpenFileCache } from '../common/open-file-cache.js';
import { DigestIndex } from '../repository/digest-index.js';
import { DownloadServer } from './server.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol.js';

const send = (message: FromWorker, handle?: NetServer) => {
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

let server: DownloadServer | undefined;
let listening: NetServer | undefined;
let openFiles: OpenFileCache | undefined;
const pendingDigests = new Map<number, { resolve: (sha: string) => void; reject: (err: Error) => void }>();
const digests = new Map<string, string>();
let nextDigest = 1;
let outcomes: TransferOutcome[] = [];

function start(settings: WorkerSettings, handle: NetServer): void {
  const log = ipcLogger({ worker: settings.workerId });
  openFiles = new OpenFileCache({ ttlMs: settings.openFileCacheMs });
  const flush = () => {
    if (outcomes.length === 0) return;
    send({ type: 'outcomes', outcomes });
    outcomes = [];
  };
  setInterval(flush, settings.outcomeFlushMs).unref();
  server = new DownloadServer({
    areas: new Areas(settings.areasDir),
    verifier: new TicketVerifier(settings.ticketPublicKeyPem, { cacheEntries: settings.ticketCacheEntries }),
    openFiles,
    digestOf: (realPath: string, stats: Stats) => {
      const key = DigestIndex.key(stats);
      const known = digests.get(key);
      if (known) return known;
      const id = nextDigest++;
      send({ type: 'digest', id, realPath, stats: { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs } });
      return new Promise<string>((resolve, reject) => {
        pendingDigests.set(id, {
          resolve: (sha) => {
            digests.set(key, sha);
            resolve(sha);
          },
          reject,
        });
      });
    },
    outcomes: {
      report: (outcome) => {
        outcomes.push(outcome);
        if (outcomes.length >= 200) flush();
      },
    },
    log,
  });
  listening = handle;
  server.listenOn(handle).then(
    () => send({ type: 'ready' }),
    (err: Error) => {
      log.error('download worker cannot listen', { err });
      process.exit(1);
    },
  );
  process.on('uncaughtException', (err) => {
    log.error('download worker failed', { err });
    flush();
    process.exit(1);
  });
  process.once('disconnect', () => process.exit(0)); // the file host is gone
  closeHook = async (graceMs) => {
    await server!.close(graceMs);
    openFiles!.clear();
    flush();
    send({ type: 'closed' });
    process.disconnect();
  };
}

let closeHook: ((graceMs: number) => Promise<void>) | undefined;

process.on('message', (message: ToWorker, handle?: NetServer) => {
  switch (message.type) {
    case 'init':
      if (handle) start(message.settings, handle);
      break;
    case 'invalidate':
      openFiles?.invalidate(message.customer);
      break;
    case 'digest.reply': {
      const pending = pendingDigests.get(message.id);
      pendingDigests.delete(message.id);
      if (message.sha256) pending?.resolve(message.sha256);
      else pending?.reject(new Error(message.error ?? 'no digest'));
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
