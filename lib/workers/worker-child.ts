import type { Server as NetServer } from 'node:net';
import type { Logger, LogLevel } from '../log/logger.js';

/**
 * The child side of WorkerProcesses, shared by every worker kind: messages to the parent, a
 * logger whose records go to the parent's log, and the life cycle (booted → init with the socket
 * → ready → close → closed; the parent gone → exit).
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

export interface WorkerServer {
  /** Stops serving; connections in progress get graceMs. */
  close(graceMs: number): Promise<void>;
}

export interface RunWorkerOptions<Settings> {
  name: string;
  /** Called with the settings and the listening socket the parent hands over; resolves once it serves. */
  start: (settings: Settings & { workerId: number }, socket: NetServer, log: Logger) => Promise<WorkerServer>;
  /** The kind's own messages. */
  onMessage?: (message: { type: string } & Record<string, unknown>) => void;
  /** Before the worker exits (closed, or failed): send what is still held (outcomes …). */
  beforeExit?: () => void;
}

/** Runs a worker: the shared life cycle around `start`. */
export function runWorker<Settings>(options: RunWorkerOptions<Settings>): void {
  let listening: NetServer | undefined;
  let server: WorkerServer | undefined;
  process.on(
    'message',
    (message: { type: string; settings?: Settings & { workerId: number }; graceMs?: number } & Record<string, unknown>, handle?: NetServer) => {
      switch (message.type) {
        case 'init': {
          if (!handle || !message.settings) return;
          const log = parentLogger({ worker: `${options.name}-${message.settings.workerId}` });
          listening = handle;
          process.on('uncaughtException', (err) => {
            log.error(`${options.name} worker failed`, { err });
            options.beforeExit?.();
            process.exit(1);
          });
          options.start(message.settings, handle, log).then(
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
            options.beforeExit?.();
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
