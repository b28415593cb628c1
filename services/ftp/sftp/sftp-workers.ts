import { realpathSync } from 'node:fs';
import type { EndOptions } from '../common/end-options.js';
import type { AddressInfo } from 'node:net';
import { sep } from 'node:path';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import type { CustomerLogins, Session } from '../common/customer-login.js';
import { WorkerLiveSessions, type LiveSession } from '../common/live-sessions.js';
import type { Admission } from '../common/session-limits.js';
import { WorkerProcesses } from '../../../lib/workers/worker-processes.js';
import type { ChecksumSource } from './checksum-command.js';
import type { SftpFromWorker, SftpToWorker, SftpWorkerSettings } from './worker-protocol.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { codeOf } from '../../../lib/errors/index.js';

export interface SftpWorkersOptions {
  count: number;
  host: string;
  port: number;
  settings: SftpWorkerSettings;
  logins: CustomerLogins;
  /** Checksums of area files (the file host's FileChecksums), asked by the workers' SSH checksum commands. */
  checksums: ChecksumSource;
  onOutcome: (outcome: TransferOutcome) => void;
  log: Logger;
}

/**
 * SFTP in worker processes (worker-main.ts) sharing the SFTP port, so the SSH encryption of many
 * sessions uses every core, as sshd's process per connection does. The file host keeps every
 * decision: admissions (at each TCP accept), key probes and logins are asked of its
 * CustomerLogins, checksums of its FileChecksums (one cache for every worker); what a worker held (connection slots, sessions) is let go when the worker ends
 * or dies.
 */
export class SftpWorkers {
  readonly #workers: WorkerProcesses<SftpWorkerSettings, SftpToWorker, SftpFromWorker>;
  /** What each worker's connections hold here (admissions, sessions), by `<worker>:<id>`: released when the worker says so or dies. */
  readonly #held = new Map<string, () => void>();
  readonly #admissions = new Map<string, Admission>();
  readonly #live: WorkerLiveSessions;

  constructor(options: SftpWorkersOptions) {
    const errorOf = (err: unknown) => ({ code: codeOf(err) ?? FileHostErrors.INTERNAL.code, message: (err as Error).message });
    let areas: string | undefined; // the areas' real root, resolved at the first checksum (the directory exists by then)
    /** A worker resolved the path through an AreaRoot already; this keeps the file host from hashing anything outside the areas all the same. */
    const inAreas = (path: string) => path.startsWith((areas ??= realpathSync.native(options.settings.areasDir)) + sep);
    this.#workers = new WorkerProcesses({
      name: 'sftp',
      script: new URL('./worker-main.js', import.meta.url),
      count: options.count,
      host: options.host,
      port: options.port,
      settings: options.settings,
      log: options.log,
      onMessage: (slot, message) => {
        if (this.#live.onMessage(message)) return;
        const key = (id: number) => `${slot.id}:${id}`;
        switch (message.type) {
          case 'admit':
            try {
              const admission = options.logins.connect(message.clientAddress, 'sftp');
              this.#admissions.set(key(message.id), admission);
              this.#held.set(key(message.id), admission.release);
              slot.send({ type: 'admitted', id: message.id });
            } catch (err) {
              slot.send({ type: 'admitted', id: message.id, error: errorOf(err) });
            }
            break;
          case 'authenticated':
            this.#admissions.get(key(message.id))?.authenticated();
            this.#admissions.delete(key(message.id));
            break;
          case 'key.check':
            options.logins.keyRegistered(message.probe).then(
              (registered) => slot.send({ type: 'key.checked', id: message.id, registered }),
              (err: unknown) => slot.send({ type: 'key.checked', id: message.id, error: errorOf(err) }),
            );
            break;
          case 'login':
            options.logins.login(message.request).then(
              (session: Session) => {
                this.#held.set(key(message.id), session.end);
                slot.send({ type: 'logged-in', id: message.id, customer: session.customer, name: session.name });
              },
              (err: unknown) => slot.send({ type: 'logged-in', id: message.id, error: errorOf(err) }),
            );
            break;
          case 'checksum': {
            const { path, stats, algorithm } = message.request;
            const answer = inAreas(path)
              ? options.checksums.of(path, stats, algorithm)
              : Promise.reject(FileHostErrors.PATH_REFUSED('path refused: outside the areas'));
            answer.then(
              (hex) => slot.send({ type: 'checksummed', id: message.id, hex }),
              (err: unknown) => slot.send({ type: 'checksummed', id: message.id, error: errorOf(err) }),
            );
            break;
          }
          case 'release':
          case 'end':
            this.#held.get(key(message.id))?.();
            this.#held.delete(key(message.id));
            this.#admissions.delete(key(message.id));
            break;
          case 'failed':
            options.logins.failed(message.clientAddress, message.score);
            break;
          case 'outcomes':
            for (const outcome of message.outcomes) options.onOutcome(outcome);
            break;
          default:
            break;
        }
      },
      onExit: (slot) => {
        for (const [key, release] of this.#held) {
          if (!key.startsWith(`${slot.id}:`)) continue;
          release();
          this.#held.delete(key);
          this.#admissions.delete(key);
        }
      },
    });
    this.#live = new WorkerLiveSessions(
      (message) => this.#workers.broadcast(message),
      () => this.#workers.pids.length,
    );
  }

  /** The connections logged in now, in every worker. */
  liveSessions(): Promise<LiveSession[]> {
    return this.#live.list();
  }

  /** Disconnects one connection (by its live session id); false when no worker has it. */
  endSession(id: string, reason: string): Promise<boolean> {
    return this.#live.end(id, reason);
  }

  get address(): AddressInfo {
    return this.#workers.address;
  }

  get pids(): number[] {
    return this.#workers.pids;
  }

  start(): Promise<AddressInfo> {
    return this.#workers.start();
  }

  /** Ends the customer's connections in every worker (with `paths`: only the transfers of those files). */
  endCustomer(customer: string, options: EndOptions = {}): void {
    this.#workers.broadcast({
      type: 'end-customer',
      customer,
      ...(options.paths ? { paths: [...options.paths] } : {}),
      ...(options.reason ? { reason: options.reason } : {}),
    });
  }

  close(graceMs = 5000): Promise<void> {
    return this.#workers.close(graceMs);
  }
}
