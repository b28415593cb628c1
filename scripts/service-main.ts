import { loadConfig, type Config } from '../lib/config/index.js';
import { createLogger, type Logger } from '../lib/log/logger.js';

/**
 * What every service's entry point does: load the configuration (a bad value exits 2 naming the
 * field), start the service with a logger tagged with its name (a failure is logged whole, exit 1),
 * run until SIGTERM or SIGINT, then close it cleanly (exit 0).
 */
export async function runService(name: string, start: (config: Config, log: Logger) => Promise<{ close(): Promise<void> }>): Promise<number> {
  let config: Config;
  try {
    config = loadConfig();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`);
    return 2;
  }
  const log = createLogger({ level: config.log.level, fields: { service: name } });
  let service: { close(): Promise<void> };
  try {
    service = await start(config, log);
  } catch (err) {
    log.error(`${name} failed to start`, { err });
    return 1;
  }
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', () => resolve());
    process.once('SIGINT', () => resolve());
  });
  await service.close();
  return 0;
}
