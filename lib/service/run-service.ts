import { loadConfig, type Config } from '../config/index.js';
import { createLogger, type Logger } from '../log/logger.js';

/** What a service tells its supervisor once it serves: where it listens (JSON-safe values only). */
export type ServiceEndpoints = Record<string, string | number | null>;

/** The message a service sends over its IPC channel when it is ready (scripts/supervisor). */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly service: string;
  readonly pid: number;
  readonly endpoints: ServiceEndpoints;
}

/** True when an IPC message from a service is its ready message. */
export function isReadyMessage(message: unknown): message is ReadyMessage {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'ready';
}

/**
 * What every service's entry point does: load the configuration (a bad value exits 2 naming the
 * field), start the service with a logger tagged with its name (a failure is logged whole, exit 1),
 * run until SIGTERM or SIGINT, then close it cleanly (exit 0).
 *
 * Run by a supervisor (an IPC channel is open), it also sends a `ready` message with the service's
 * endpoints once it serves, and closes when the channel goes away: a service never outlives a
 * supervisor that was killed.
 */
export async function runService<S extends { close(): Promise<void> }>(
  name: string,
  start: (config: Config, log: Logger) => Promise<S>,
  endpoints: (service: S) => ServiceEndpoints = () => ({}),
): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: config.log.level, fields: { service: name } });
  let service: S;
  try {
    service = await start(config, log);
  } catch (err) {
    log.error(`${name} failed to start`, { err });
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
    if (process.send) {
      process.once('disconnect', () => resolve());
      const ready: ReadyMessage = { type: 'ready', service: name, pid: process.pid, endpoints: endpoints(service) };
      process.send(ready);
    }
  });
  await service.close();
  if (process.connected) process.disconnect();
  return 0;
}
