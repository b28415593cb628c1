/**
 * An HTTP download worker: a child process of the file host serving downloads on the listening
 * socket it is handed. Started by DownloadWorkers (download-workers.ts); not run by hand.
 */
import type { Stats } from 'node:fs';
import { TicketVerifier } from '../../../lib/tickets/index.js';
import { Areas } from '../common/areas.js';
import { answerLive, LiveSessions } from '../common/live-sessions.js';
import { OpenFileCache } from '../common/open-file-cache.js';
import { TicketCutoffs } from '../common/ticket-cutoffs.js';
import { runWorker, sendToParent } from '../common/worker-child.js';
import { DigestIndex } from '../repository/digest-index.js';
import { DownloadServer } from './server.js';
import type { ToWorker, WorkerSettings } from './worker-protocol.js';

let downloads: DownloadServer | undefined;
let openFiles: OpenFileCache | undefined;
const cutoffs = new TicketCutoffs();
const pendingDigests = new Map<number, { resolve: (sha: string) => void; reject: (err: Error) => void }>();
const digests = new Map<string, string>();
let nextDigest = 1;
/** The downloads this worker is sending now (ids of their own: see LiveSessions). */
const live = new LiveSessions('w');

/** The SHA-256 of an opened file: remembered here, else asked of the file host (its index or hash pool). */
function digestOf(realPath: string, stats: Stats): string | Promise<string> {
  const key = DigestIndex.key(stats);
  const known = digests.get(key);
  if (known) return known;
  const id = nextDigest++;
  sendToParent({ type: 'digest', id, realPath, stats: { dev: stats.dev, ino: stats.ino, size: stats.size, mtimeMs: stats.mtimeMs } });
  return new Promise<string>((resolve, reject) => {
    pendingDigests.set(id, {
      resolve: (sha) => {
        digests.set(key, sha);
        resolve(sha);
      },
      reject,
    });
  });
}

runWorker<Omit<WorkerSettings, 'workerId'>>({
  name: 'download',
  outcomeFlushMs: (settings) => settings.outcomeFlushMs,
  start: async (settings, socket, log, outcomes) => {
    openFiles = new OpenFileCache({ ttlMs: settings.openFileCacheMs });
    cutoffs.replace(settings.cutoffs);
    const server = new DownloadServer({
      areas: new Areas(settings.areasDir),
      verifier: new TicketVerifier(settings.ticketPublicKeyPem, { cacheEntries: settings.ticketCacheEntries }),
      cutoffs,
      openFiles,
      digestOf,
      outcomes,
      transferIdleMs: settings.transferIdleMs,
      live,
      log,
    });
    await server.listenOn(socket);
    downloads = server;
    return {
      close: async (graceMs) => {
        await server.close(graceMs);
        openFiles?.clear();
      },
    };
  },
  onMessage: (raw) => {
    const message = raw as unknown as ToWorker;
    if (answerLive(message, live, sendToParent)) return;
    if (message.type === 'invalidate') openFiles?.invalidate(message.customer);
    else if (message.type === 'end-customer') {
      openFiles?.invalidate(message.customer);
      downloads?.endCustomer(message.customer, message.paths);
    } else if (message.type === 'cut-offs') cutoffs.replace(message.cutoffs);
    else if (message.type === 'invalidate-all') openFiles?.clear();
    else if (message.type === 'digest.reply') {
      const pending = pendingDigests.get(message.id);
      pendingDigests.delete(message.id);
      if (message.sha256) pending?.resolve(message.sha256);
      else pending?.reject(new Error(message.error ?? 'no digest'));
    }
  },
});
