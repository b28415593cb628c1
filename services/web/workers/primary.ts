import type { AddressInfo } from 'node:net';
import { AggregatorRegistry, type Registry } from 'prom-client';
import { FILE_HOST_OPERATIONS } from '../../../lib/contracts/file-host/operations.js';
import { INTERNAL_DB_OPERATIONS } from '../../../lib/contracts/internal-db/index.js';
import type { Operation } from '../../../lib/contracts/operation.js';
import { CommonErrors } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import { WorkerProcesses, type BaseFromWorker, type BaseToWorker, type WorkerSlot } from '../../../lib/workers/worker-processes.js';
import type { FileHostRegistry } from '../file-hosts.js';
import type { InternalDbLink } from '../internal-db-link.js';
import type { WebMetrics } from '../ops/metrics.js';
import type { SigninAttempt, SigninLimiter } from '../portal/rate-limit.js';
import { IpcCalls } from './ipc-calls.js';
import type { WebWorkerSettings } from './settings.js';
import { UploadSocket } from './upload-socket.js';
import { CATCH_UP, CATCH_UP_MS, type CallMessage, type LinkState, type PushMessage, type ReplyMessage, type WorkerNotice } from './wire.js';

type ToWorker = BaseToWorker<WebWorkerSettings> | PushMessage | CallMessage | ReplyMessage;
type FromWorker = BaseFromWorker | WorkerNotice | CallMessage | ReplyMessage;

/** A worker that does not give its metrics within this is left out of /metrics. */
const METRICS_TIMEOUT_MS = 1000;

type MetricsJson = Awaited<ReturnType<Registry['getMetricsAsJSON']>>;

const byName = (operations: readonly Operation[]) => new Map(operations.map((o) => [o.name, o]));
const INTERNAL_DB_BY_NAME = byName(INTERNAL_DB_OPERATIONS);
const FILE_HOST_BY_NAME = byName(FILE_HOST_OPERATIONS);

export interface WebWorkersOptions {
  count: number;
  host: string;
  port: number;
  settings: Omit<WebWorkerSettings, 'httpUrl' | 'upload'>;
  /** The base URL once the port is bound. */
  httpUrl: (address: AddressInfo) => string;
  db: InternalDbLink;
  fileHosts: FileHostRegistry;
  /** The one sign-in limiter of the web host: every worker's sign-ins count against it. */
  limiter: SigninLimiter;
  metrics: WebMetrics;
  log: Logger;
}

/** One worker as the primary serves it: its calls, and the sign-in attempts it holds. */
interface Served {
  readonly calls: IpcCalls;
  readonly attempts: Map<number, SigninAttempt>;
}

/**
 * The primary's side of the web host's worker processes (services.web.workers ≥ 2): the workers
 * serve the HTTP port (portal, API, /healthz, /readyz); the primary keeps what must be one per
 * host (the internal-db link, the file hosts' commlink and registry, the sign-in limits) and answers
 * the workers' requests for them over IPC: `db.ask` (by operation name, among the internal-db's
 * contracts only), `fileHost.ask` (among the file host's; an upload's bytes come over the
 * UploadSocket), `signin.reserve`, `links` (the state pushed on every change). It asks each
 * worker for its metrics for /metrics, summed with its own.
 */
export class WebWorkers {
  readonly #options: WebWorkersOptions;
  readonly #processes: WorkerProcesses<WebWorkerSettings, ToWorker, FromWorker>;
  readonly #uploads: UploadSocket;
  readonly #served = new Map<number, Served>();
  readonly #slots = new Map<number, WorkerSlot<ToWorker>>();
  #attempts = 0;
  readonly #push = () => this.#processes.broadcast({ type: 'links', state: this.#links() });

  private constructor(options: WebWorkersOptions, uploads: UploadSocket) {
    this.#options = options;
    this.#uploads = uploads;
    this.#processes = new WorkerProcesses({
      name: 'web',
      script: new URL('./worker-main.js', import.meta.url),
      count: options.count,
      host: options.host,
      port: options.port,
      settings: { ...options.settings, upload: uploads.settings, httpUrl: '' },
      addressSettings: (address) => ({ httpUrl: options.httpUrl(address) }),
      onMessage: (slot, message) => this.#onMessage(slot, message),
      onExit: (slot) => this.#onExit(slot.id),
      log: options.log,
    });
  }

  static async start(options: WebWorkersOptions): Promise<WebWorkers> {
    const workers = new WebWorkers(options, await UploadSocket.open(options.log));
    options.db.on('up', workers.#push);
    options.db.on('down', workers.#push);
    options.fileHosts.on('registered', workers.#push);
    options.fileHosts.on('left', workers.#push);
    try {
      await workers.#processes.start();
    } catch (err) {
      await workers.close(0);
      throw err;
    }
    return workers;
  }

  get address(): AddressInfo {
    return this.#processes.address;
  }

  get pids(): number[] {
    return this.#processes.pids;
  }

  /** The metrics of the primary and of every worker that answers within 1 s, summed (prom-client's AggregatorRegistry). */
  async metricsText(): Promise<string> {
    const own = await this.#options.metrics.registry.getMetricsAsJSON();
    const theirs = await Promise.all(
      [...this.#served.values()].map((s) => s.calls.call<MetricsJson>('metrics', {}, METRICS_TIMEOUT_MS).catch(() => undefined)),
    );
    const all = [own, ...theirs.filter((m): m is MetricsJson => m !== undefined)];
    return AggregatorRegistry.aggregate(all).metrics();
  }

  /** The workers stop taking requests (/readyz 503 at once), finish those in progress within graceMs, and exit. */
  async close(graceMs = 5000): Promise<void> {
    await this.#processes.close(graceMs);
    this.#options.db.off('up', this.#push);
    this.#options.db.off('down', this.#push);
    this.#options.fileHosts.off('registered', this.#push);
    this.#options.fileHosts.off('left', this.#push);
    for (const id of [...this.#served.keys()]) this.#onExit(id);
    await this.#uploads.close();
  }

  #links(): LinkState {
    return {
      internalDbUp: this.#options.db.connected,
      fileHosts: this.#options.fileHosts
        .list()
        .filter((h) => !h.peer.closed)
        .map((h) => ({ name: h.name, httpUrl: h.httpUrl, ftpUrl: h.ftpUrl, sftpUrl: h.sftpUrl, since: h.since, remoteAddress: h.peer.remoteAddress })),
    };
  }

  #serve(slot: WorkerSlot<ToWorker>): Served {
    let served = this.#served.get(slot.id);
    if (!served) {
      const calls = new IpcCalls(
        `web worker ${slot.id}`,
        (message) => {
          this.#slots.get(slot.id)?.send(message);
          return true;
        },
        (method, args) => this.#answer(slot.id, method, args),
      );
      served = { calls, attempts: new Map() };
      this.#served.set(slot.id, served);
    }
    this.#slots.set(slot.id, slot);
    return served;
  }

  #onMessage(slot: WorkerSlot<ToWorker>, message: FromWorker): void {
    const served = this.#serve(slot);
    if (served.calls.receive(message)) return;
    const notice = message as WorkerNotice;
    switch (notice.type) {
      case 'upload.end':
        this.#uploads.end(notice.upload, notice.bytes);
        break;
      case 'upload.abort':
        this.#uploads.abort(notice.upload, notice.reason);
        break;
      case 'signin.decide': {
        const attempt = served.attempts.get(notice.attempt);
        served.attempts.delete(notice.attempt);
        if (notice.outcome === 'failed') attempt?.failed();
        else if (notice.outcome === 'succeeded') attempt?.succeeded();
        else attempt?.cancel();
        break;
      }
    }
  }

  /** A worker exited: its calls fail, its uploads are aborted, its sign-ins in flight are given back. */
  #onExit(id: number): void {
    const served = this.#served.get(id);
    this.#served.delete(id);
    this.#slots.delete(id);
    served?.calls.fail();
    for (const attempt of served?.attempts.values() ?? []) attempt.cancel();
    this.#uploads.abortWorker(id);
  }

  async #answer(worker: number, method: string, args: unknown): Promise<unknown> {
    switch (method) {
      case 'links':
        return this.#links();
      case 'db.ask': {
        const { op, body, timeoutMs } = args as { op: string; body: never; timeoutMs: number };
        const operation = INTERNAL_DB_BY_NAME.get(op);
        if (!operation) throw CommonErrors.INTERNAL(`a web worker asked for ${op}, which is no internal-db operation`);
        return this.#options.db.ask(operation, body, timeoutMs);
      }
      case 'fileHost.ask': {
        const { host, op, body, timeoutMs, upload } = args as { host: string; op: string; body: never; timeoutMs: number; upload?: string };
        const operation = FILE_HOST_BY_NAME.get(op);
        if (!operation) throw CommonErrors.INTERNAL(`a web worker asked for ${op}, which is no file-host operation`);
        const registry = this.#options.fileHosts;
        if (upload === undefined) return registry.ask(registry.pick(host), operation, body, { timeoutMs });
        try {
          return await registry.ask(registry.pick(host), operation, body, { timeoutMs, stream: this.#uploads.expect(upload) });
        } finally {
          this.#uploads.forget(upload);
          this.#slots.get(worker)?.send({ type: 'upload.stop', upload });
        }
      }
      case CATCH_UP:
        // Every worker's feed, the asker's included; one that does not answer in time is left to its feed's second.
        await Promise.allSettled([...this.#served.values()].map((served) => served.calls.call(CATCH_UP, {}, CATCH_UP_MS)));
        return undefined;
      case 'signin.reserve': {
        const { address, login } = args as { address: string; login: string };
        const attempt = await this.#options.limiter.reserve(address, login);
        const served = this.#served.get(worker);
        if (!served) {
          attempt.cancel(); // the worker is gone
          throw CommonErrors.GATEWAY_UNAVAILABLE('the worker is gone');
        }
        const id = ++this.#attempts;
        served.attempts.set(id, attempt);
        return { attempt: id, delayMs: attempt.delayMs };
      }
      default:
        throw CommonErrors.INTERNAL(`a web worker asked for ${method}, which the primary does not serve`);
    }
  }
}
