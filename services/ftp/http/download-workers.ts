import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { FromWorker, ToWorker, WorkerSettings } from './worker-protocol.js';

export interface DownloadWorkersOptions {
  /** Worker processes to run (at least 1). */
  count: number;
  host: string;
  port: number;
  settings: Omit<WorkerSettings, 'workerId'>;
  /** The SHA-256 of a file a worker opened (the file host's digest index, or its hash pool). */
  digestOf: (realPath: string, stats: { dev: number; ino: number; size: number; mtimeMs: number }) => Promise<string>;
  onOutcome: (outcome: TransferOutcome) => void;
  log: Logger;
}

interface Slot {
  id: number;
  child: ChildProcess | undefined;
  restarts: number;
}

const WORKER = new URL('./worker-main.js', import.meta.url);

/**
 * The HTTP download workers: child processes sharing one listening socket, so downloads use every
 * core (as nginx's worker processes do). The file host keeps the socket only while handing it to a
 * worker; a worker that dies is replaced (the socket is borrowed back from a live worker, or bound
 * again when none is left), after a back-off that grows with repeated failures.
 *
 * Invariant: once started, the file host's own process never accepts download connections.
 */
export class DownloadWorkers {
  readonly #options: DownloadWorkersOptions;
  readonly #slots: Slot[] = [];
  #address: AddressInfo | undefined;
  #closing = false;

  constructor(options: DownloadWorkersOptions) {
    this.#options = options;
  }

  /** Process ids of the workers now running. */
  get pids(): number[] {
    return this.#slots.flatMap((s) => (s.child?.connected && s.child.pid !== undefined ? [s.child.pid] : []));
  }

  get address(): AddressInfo {
    return this.#address!;
  }

  /** Binds the socket, starts every worker, and resolves when all serve. */
  async start(): Promise<AddressInfo> {
    const server = await this.#bind(this.#options.port);
    this.#address = server.address() as AddressInfo;
    try {
      for (let i = 0; i < this.#options.count; i++) {
        const slot: Slot = { id: i + 1, child: undefined, restarts: 0 };
        this.#slots.push(slot);
        await this.#launch(slot, server);
      }
    } finally {
      server.close(); // the workers hold the socket now
    }
    return this.#address;
  }

  /** Tells every worker that a customer's area changed (their open-file caches drop its entries). */
  invalidate(customer: string): void {
    for (const slot of this.#slots) this.#send(slot, { type: 'invalidate', customer });
  }

  /** Asks each worker to stop (downloads in progress get graceMs), then waits for them to exit. */
  async close(graceMs = 5000): Promise<void> {
    this.#closing = true;
    await Promise.all(
      this.#slots.map(
        (slot) =>
          new Promise<void>((resolve) => {
            const child = slot.child;
            if (!child || child.exitCode !== null || !child.connected) return resolve();
            const kill = setTimeout(() => child.kill('SIGKILL'), graceMs + 2000);
            child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            this.#send(slot, { type: 'close', graceMs });
          }),
      ),
    );
  }

  #bind(port: number): Promise<NetServer> {
    return new Promise((resolve, reject) => {
      const server = createServer();
      server.once('error', reject);
      server.listen({ port, host: this.#options.host, exclusive: true }, () => resolve(server));
    });
  }

  #send(slot: Slot, message: ToWorker, handle?: NetServer): void {
    if (slot.child?.connected) slot.child.send(message, handle as never);
  }

  /** Forks a worker and hands it the socket; resolves when it serves. */
  #launch(slot: Slot, server: NetServer): Promise<void> {
    const { log } = this.#options;
    const child = fork(WORKER, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    slot.child = child;
    const workerLog = log.child({ worker: slot.id, pid: child.pid });
    child.on('message', (message: FromWorker, handle?: NetServer) => this.#onMessage(slot, message, workerLog, handle));
    const ready = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.type !== 'ready') return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) => reject(new Error(`download worker ${slot.id} exited (${code}) before serving`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
    child.once('exit', (code, signal) => {
      if (slot.child === child) slot.child = undefined;
      if (this.#closing) return;
      workerLog.error('download worker exited; replacing it', { code, signal });
      void this.#replace(slot);
    });
    child.send({ type: 'init', settings: { ...this.#options.settings, workerId: slot.id } } satisfies ToWorker, server as never);
    return ready;
  }

  async #replace(slot: Slot): Promise<void> {
    const delay = Math.min(5000, 100 * 2 ** Math.min(slot.restarts, 6));
    slot.restarts++;
    await new Promise((r) => setTimeout(r, delay));
    if (this.#closing) return;
    try {
      const server = await this.#borrowSocket();
      try {
        await this.#launch(slot, server);
        slot.restarts = Math.max(0, slot.restarts - 1);
      } finally {
        server.close();
      }
    } catch (err) {
      this.#options.log.error('download worker could not be replaced; retrying', { worker: slot.id, err });
      void this.#replace(slot);
    }
  }

  /** The listening socket, from a live worker, or bound afresh when no worker holds it. */
  async #borrowSocket(): Promise<NetServer> {
    const donor = this.#slots.find((s) => s.child?.connected);
    if (!donor) return this.#bind(this.#address!.port);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no socket from a live worker')), 5000);
      const onMessage = (m: FromWorker, handle?: NetServer) => {
        if (m.type !== 'handle' || !handle) return;
        clearTimeout(timer);
        donor.child?.off('message', onMessage);
        resolve(handle);
      };
      donor.child!.on('message', onMessage);
      this.#send(donor, { type: 'handle.request' });
    });
  }

  #onMessage(slot: Slot, message: FromWorker, log: Logger, _handle?: NetServer): void {
    switch (message.type) {
      case 'outcomes':
        for (const outcome of message.outcomes) this.#options.onOutcome(outcome);
        break;
      case 'digest':
        this.#options.digestOf(message.realPath, message.stats).then(
          (sha256) => this.#send(slot, { type: 'digest.reply', id: message.id, sha256 }),
          (err: Error) => this.#send(slot, { type: 'digest.reply', id: message.id, error: err.message }),
        );
        break;
      case 'log':
        log[message.level](message.msg, message.fields);
        break;
      default:
        break;
    }
  }
}
