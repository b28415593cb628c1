import type { Server as NetServer } from 'node:net';
import type { Logger, LogLevel } from '../../../lib/log/logger.js';
import type { TransferOutcome } from './audit-reporter.js';

/**
 * The child side of WorkerProcesses, shared by every worker kind: messages to the parent, a
 * logger whose records go to the parent's log, transfer outcomes sent in batches, and the life
 * cycle (booted → init with the socket → ready → close → closed; the parent gone → exit).
 */

export function sendToParent(message: { type: string } & Record<string, unknown>, handle?: NetServer): void {
  if (process.connected) process.send!(message, handle as never);
}

/** A Logger whose records the parent writes (errors are sent whole). */
export function parentLogger(fields: Record<string, unknown>): Logger {
  const at = (level: LogLevel) => (msg: string, more?: Record<string, unknown>) => {
    const record: Record<string, unknown> = { ...fields, ...more };
    for (const [k, v] of Object.entries(record))
      if (v instanceof Error) record[k] = { name: v.name, message: v.message, stack: v.stack, code: (v as { code?: unknown }).code };
    sendToParent({ type: 'log', level, msg, fields: record });
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), child: (more) => parentLogger({ ...fields, ...more }) };
}

/** Transfer outcomes, sent to the parent every `flushMs` or 200 at a time. */
export class OutcomeBatch {
  #outcomes: TransferOutcome[] = [];

  constructor(flushMs: number) {
    setInterval(() => this.flush(), flushMs).unref();
  }

  report(outcome: TransferOutcome): void {
    this.#outcomes.push(outcome);
    if (this.#outcomes.length >= 200) this.flush();
  }

  flush(): void {
    if (this.#outcomes.length === 0) return;
    sendToParent({ type: 'outcomes', outcomes: this.#outcomes });
    this.#outcomes = [];
  }
}

export interface WorkerServer {
  /** Stops serving; connections in progress get graceMs. */
  close(graceMs: number): Promise<void>;
}

/**
 * Runs a worker: `start` is called with the settings and the listening socket the parent hands
 * over, and must resolve once it serves; `onMessage` gets the kind's own messages.
 */
export function runWorker<Settings>(options: {
  name: string;
  start: (settings: Settings & { workerId: number }, socket: NetServer, log: Logger, outcomes: OutcomeBatch) => Promise<WorkerServer>;
  outcomeFlushMs: (settings: Settings) => number;
  onMessage?: (message: { type: string } & Record<string, unknown>) => void;
}): void {
  let listening: NetServer | undefined;
  let server: WorkerServer | undefined;
  let outcomes: OutcomeBatch | undefined;
  process.on(
    'message',
    (message: { type: string; settings?: Settings & { workerId: number }; graceMs?: number } & Record<string, unknown>, handle?: NetServer) => {
      switch (message.type) {
        case 'init': {
          if (!handle || !message.settings) return;
          const log = parentLogger({ worker: `${options.name}-${message.settings.workerId}` });
          listening = handle;
          outcomes = new OutcomeBatch(options.outcomeFlushMs(message.settings));
          process.on('uncaughtException', (err) => {
            log.error(`${options.name} worker failed`, { err });
            outcomes?.flush();
            process.exit(1);
          });
          options.start(message.settings, handle, log, outcomes).then(
            (started) => {
              server = started;
              sendToParent({ type: 'ready' });
            },
            (err: Error) => {
              log.error(`${options.name} worker cannot serve`, { err });
              process.exit(1);
            },
          );
          break;
        }
        case 'handle.request':
          if (listening) sendToParent({ type: 'handle' }, listening);
          break;
        case 'close':
          void (async () => {
            await server?.close(message.graceMs ?? 5000);
            outcomes?.flush();
            sendToParent({ type: 'closed' });
            process.disconnect();
          })();
          break;
        default:
          options.onMessage?.(message);
      }
    },
  );
  process.once('disconnect', () => process.exit(0)); // the parent is gone (or we are done)
  sendToParent({ type: 'booted' }); // loaded: the parent may now hand over the socket
}
