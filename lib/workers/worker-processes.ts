import { fork, type ChildProcess } from 'node:child_process';
import { createServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { backoffDelay } from '../backoff.js';
import type { Logger, LogLevel } from '../log/logger.js';

/** Messages every worker kind shares; each kind adds its own. */
export type BaseToWorker<Settings> =
  { type: 'init'; settings: Settings & { workerId: number } } | { type: 'handle.request' } | { type: 'close'; graceMs: number };
export type BaseFromWorker =
  | { type: 'booted' }
  | { type: 'ready' }
  | { type: 'handle' }
  | { type: 'log'; level: LogLevel; msg: string; fields?: Record<string, unknown> }
  | { type: 'closed' };

/** One worker as its message handler sees it. */
export interface WorkerSlot<ToWorker> {
  readonly id: number;
  send(message: ToWorker): void;
}

export interface WorkerProcessesOptions<Settings, ToWorker, FromWorker> {
  /** What the workers serve, for logs ("download", "sftp"). */
  name: string;
  /** The worker's entry module. */
  script: URL;
  count: number;
  host: string;
  port: number;
  settings: Settings;
  /** Settings that depend on the listening address (a URL with the port bound), merged into `settings` at each init. */
  addressSettings?: (address: AddressInfo) => Partial<Settings>;
  /** The messages of this worker kind (the shared ones are handled here). */
  onMessage: (slot: WorkerSlot<ToWorker>, message: FromWorker) => void;
  /** A worker exited (crashed or closed): what it held in the parent is to be let go. */
  onExit?: (slot: WorkerSlot<ToWorker>) => void;
  log: Logger;
}

/** The wait before a dead worker is replaced: 100 ms, doubling with each failure in a row, up to 5 s. */
const REPLACE_BACKOFF = { minMs: 100, maxMs: 5000 } as const;

interface Slot {
  id: number;
  child: ChildProcess | undefined;
  restarts: number;
  /** True from its 'ready' (it serves) until it exits. */
  serving: boolean;
}

/**
 * Worker processes sharing one listening socket, so a server uses every core (as nginx's worker
 * processes do). The parent keeps the socket only while handing it to a worker; a worker that
 * dies is replaced (the socket is borrowed back from a live worker, or bound again when none is
 * left), after a back-off that grows with repeated failures.
 *
 * Invariant: the parent never accepts a connection on the socket. It holds the socket only within
 * one turn of its event loop: workers are forked and booted first; then the socket is bound (or
 * borrowed), handed over and closed before the parent's loop polls again.
 */
export class WorkerProcesses<Settings, ToWorker extends { type: string }, FromWorker extends { type: string }> {
  readonly #options: WorkerProcessesOptions<Settings, ToWorker, FromWorker>;
  readonly #slots: Slot[] = [];
  #address: AddressInfo | undefined;
  #closing = false;

  constructor(options: WorkerProcessesOptions<Settings, ToWorker, FromWorker>) {
    this.#options = options;
  }

  get address(): AddressInfo {
    return this.#address!;
  }

  /** Process ids of the workers now serving (a replacement counts once it is ready). */
  get pids(): number[] {
    return this.#slots.flatMap((s) => (s.serving && s.child?.connected && s.child.pid !== undefined ? [s.child.pid] : []));
  }

  /** Forks every worker, binds the socket, hands it over, and resolves when all serve. */
  async start(): Promise<AddressInfo> {
    for (let i = 0; i < this.#options.count; i++) this.#slots.push({ id: i + 1, child: undefined, restarts: 0, serving: false });
    await Promise.all(this.#slots.map((slot) => this.#fork(slot)));
    const server = await this.#bind(this.#options.port);
    this.#address = server.address() as AddressInfo;
    const ready = this.#slots.map((slot) => this.#init(slot, server));
    server.close(); // same turn: the workers hold the socket now
    await Promise.all(ready);
    return this.#address;
  }

  broadcast(message: ToWorker): void {
    for (const slot of this.#slots) this.#send(slot, message);
  }

  /** Asks each worker to stop (connections in progress get graceMs), then waits for them to exit. */
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
            this.#send(slot, { type: 'close', graceMs } as BaseToWorker<Settings> as unknown as ToWorker);
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

  #send(slot: Slot, message: ToWorker | BaseToWorker<Settings>, handle?: NetServer): void {
    if (!slot.child?.connected) return;
    try {
      slot.child.send(message, handle as never);
    } catch (err) {
      this.#options.log.debug(`${this.#options.name} worker ${slot.id}: message not sent`, { err }); // it is exiting
    }
  }

  #view(slot: Slot): WorkerSlot<ToWorker> {
    return { id: slot.id, send: (message) => this.#send(slot, message) };
  }

  /** Forks a worker and resolves once it has loaded (it has no socket yet). */
  #fork(slot: Slot): Promise<void> {
    const { log, name } = this.#options;
    const child = fork(this.#options.script, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], serialization: 'advanced' });
    slot.child = child;
    slot.serving = false;
    const workerLog = log.child({ worker: `${name}-${slot.id}`, pid: child.pid });
    // A message to a worker that is going away fails with EPIPE: that is its exit's business.
    child.on('error', (err: Error) => workerLog.debug(`${name} worker channel error`, { err }));
    child.on('message', (message: BaseFromWorker | FromWorker) => {
      if (message.type === 'ready' && slot.child === child) slot.serving = true;
      if (message.type === 'log') {
        const m = message as Extract<BaseFromWorker, { type: 'log' }>;
        workerLog[m.level](m.msg, m.fields);
      } else if (!['booted', 'ready', 'handle', 'closed'].includes(message.type)) {
        this.#options.onMessage(this.#view(slot), message as FromWorker);
      }
    });
    child.once('exit', (code, signal) => {
      if (slot.child === child) {
        slot.child = undefined;
        slot.serving = false;
      }
      this.#options.onExit?.(this.#view(slot));
      if (this.#closing) return;
      workerLog.error(`${name} worker exited; replacing it`, { code, signal });
      void this.#replace(slot);
    });
    return this.#until(child, 'booted');
  }

  /** Hands a booted worker the socket (synchronously); resolves when it serves. */
  #init(slot: Slot, server: NetServer): Promise<void> {
    const child = slot.child;
    if (!child) return Promise.reject(new Error(`${this.#options.name} worker ${slot.id} is gone`));
    const ready = this.#until(child, 'ready');
    const settings = { ...this.#options.settings, ...this.#options.addressSettings?.(this.#address!), workerId: slot.id };
    this.#send(slot, { type: 'init', settings }, server);
    return ready;
  }

  /** Resolves when the worker sends `type`; rejects if it exits first. */
  #until(child: ChildProcess, type: string): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const onMessage = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        resolve();
      };
      const onExit = (code: number | null) => reject(new Error(`${this.#options.name} worker exited (${code}) before it was ${type}`));
      child.on('message', onMessage);
      child.once('exit', onExit);
    });
  }

  async #replace(slot: Slot): Promise<void> {
    const delay = backoffDelay(slot.restarts, REPLACE_BACKOFF);
    slot.restarts++;
    await new Promise((r) => setTimeout(r, delay));
    if (this.#closing) return;
    try {
      await this.#fork(slot);
      if (this.#closing) {
        slot.child?.kill();
        return;
      }
      const server = await this.#borrowSocket(slot);
      const ready = this.#init(slot, server);
      server.close(); // same turn as the socket arrived: the parent never accepts on it
      await ready;
      slot.restarts = Math.max(0, slot.restarts - 1);
    } catch (err) {
      this.#options.log.error(`${this.#options.name} worker could not be replaced; retrying`, { worker: slot.id, err });
      void this.#replace(slot);
    }
  }

  /** The listening socket, from another worker that serves, or bound afresh when none does. */
  async #borrowSocket(replacing: Slot): Promise<NetServer> {
    // Not the replacement itself: it is forked but holds no socket yet.
    const donor = this.#slots.find((s) => s !== replacing && s.serving && s.child?.connected && s.child.exitCode === null);
    if (!donor) return this.#bind(this.#address!.port);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('no socket from a live worker')), 5000);
      const onMessage = (m: { type: string }, handle?: NetServer) => {
        if (m.type !== 'handle' || !handle) return;
        clearTimeout(timer);
        donor.child?.off('message', onMessage);
        resolve(handle);
      };
      donor.child!.on('message', onMessage);
      this.#send(donor, { type: 'handle.request' });
    });
  }
}
