import { fork, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { backoffDelay } from '../../lib/backoff.js';
import type { Logger } from '../../lib/log/logger.js';
import { isReadyMessage, type ReadyMessage, type ServiceEndpoints } from '../../lib/service/run-service.js';

/** How a crashed service is started again: the delay doubles from `initialDelayMs` up to `maxDelayMs`, and is reset once a run lasted `stableMs`. */
export interface RestartPolicy {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly stableMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = Object.freeze({ initialDelayMs: 500, maxDelayMs: 30_000, stableMs: 30_000 });

export interface ServiceProcessOptions {
  /** The service's name, as it reports it in its ready message. */
  readonly name: string;
  /** The compiled entry point (dist/services/…/main.js). */
  readonly script: string;
  /** The environment of each run, asked again at every (re)start: ports learnt from other services go in here. */
  readonly env: () => NodeJS.ProcessEnv;
  /** How long a run may take to send its ready message. */
  readonly readyTimeoutMs: number;
  readonly restart: RestartPolicy;
  readonly log: Logger;
}

export interface ServiceExit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * One service run as a child process with an IPC channel: started, awaited until it says it is
 * ready, restarted with back-off when it dies unasked, and stopped with SIGTERM (SIGKILL after the
 * grace period). Events: `ready` (a run serves: the first and each restart), `crashed` (a run
 * died unasked; the next try follows after the back-off, for as long as it takes).
 */
export class ServiceProcess extends EventEmitter {
  readonly name: string;
  readonly #options: ServiceProcessOptions;
  #child: ChildProcess | undefined;
  #ready: ReadyMessage | undefined;
  #stopping = false;
  #everReady = false;
  #restarts = 0;
  #failuresInARow = 0;
  #startedAt = 0;
  #restartTimer: NodeJS.Timeout | undefined;

  constructor(options: ServiceProcessOptions) {
    super();
    this.name = options.name;
    this.#options = options;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** The endpoints of the run that is serving now (undefined between a crash and the restart's ready). */
  get endpoints(): ServiceEndpoints | undefined {
    return this.#ready?.endpoints;
  }

  get restarts(): number {
    return this.#restarts;
  }

  /** Starts a run and resolves with its ready message; rejects when it exits first or is not ready in time. */
  start(): Promise<ReadyMessage> {
    const { name, script, readyTimeoutMs, log } = this.#options;
    const child = fork(script, [], { env: this.#options.env(), stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.#child = child;
    this.#ready = undefined;
    this.#startedAt = Date.now();
    return new Promise<ReadyMessage>((resolve, reject) => {
      const timer = setTimeout(() => {
        reject(new Error(`${name} was not ready within ${readyTimeoutMs} ms`));
        child.kill('SIGKILL');
      }, readyTimeoutMs);
      child.on('message', (message: unknown) => {
        if (!isReadyMessage(message) || this.#child !== child) return;
        clearTimeout(timer);
        this.#ready = message;
        this.#everReady = true;
        log.info(`${name} is ready`, { pid: message.pid, endpoints: message.endpoints });
        this.emit('ready', message);
        resolve(message);
      });
      child.on('error', (err) => log.error(`${name} process error`, { err }));
      child.once('exit', (code, signal) => {
        clearTimeout(timer);
        const wasReady = this.#ready !== undefined;
        if (this.#child === child) {
          this.#child = undefined;
          this.#ready = undefined;
        }
        if (!wasReady) reject(new Error(`${name} exited before it was ready (${describeExit({ code, signal })})`));
        // A first run that fails is the caller's to report; once a run has served, deaths are restarted.
        if (!this.#stopping && this.#everReady) this.#crashed({ code, signal }, wasReady);
      });
    });
  }

  /** Stops the current run (and any pending restart): SIGTERM, then SIGKILL after `graceMs`. */
  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    clearTimeout(this.#restartTimer);
    const child = this.#child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.#options.log.warn(`${this.name} did not stop within ${graceMs} ms; killing it`, { pid: child.pid });
      child.kill('SIGKILL');
    }, graceMs);
    await exited;
    clearTimeout(timer);
  }

  #crashed(exit: ServiceExit, wasReady: boolean): void {
    const { restart, log } = this.#options;
    const ranLongEnough = wasReady && Date.now() - this.#startedAt >= restart.stableMs;
    this.#failuresInARow = ranLongEnough ? 0 : this.#failuresInARow + 1;
    const delayMs = backoffDelay(Math.max(0, this.#failuresInARow - 1), { minMs: restart.initialDelayMs, maxMs: restart.maxDelayMs });
    log.warn(`${this.name} exited unasked (${describeExit(exit)}); restarting in ${delayMs} ms`, { restarts: this.#restarts });
    this.emit('crashed', exit);
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.#restarts += 1;
      this.start().catch((err: Error) => log.warn(`${this.name} restart failed: ${err.message}`)); // the exit schedules the next try
    }, delayMs);
  }
}

export function describeExit(exit: ServiceExit): string {
  return exit.signal ? `signal ${exit.signal}` : `exit code ${String(exit.code)}`;
}
