import { randomBytes } from 'node:crypto';
import { CommlinkClient, CommlinkServer, KeyBag, type CommlinkOptions } from '../../lib/commlink/index.js';
import type { ClientOptions } from '../../lib/commlink/client.js';
import { createLogger, silentLogger, type Logger } from '../../lib/log/logger.js';

export function makeBag(size = 8): KeyBag {
  return new KeyBag(Array.from({ length: size }, () => randomBytes(32)));
}

export interface CapturedLog {
  log: Logger;
  records: Record<string, unknown>[];
  /** Resolves when a record matching `predicate` has been logged. */
  waitFor(predicate: (record: Record<string, unknown>) => boolean, timeoutMs?: number): Promise<Record<string, unknown>>;
}

export function captureLog(): CapturedLog {
  const records: Record<string, unknown>[] = [];
  const waiters: { predicate: (r: Record<string, unknown>) => boolean; resolve: (r: Record<string, unknown>) => void }[] = [];
  const log = createLogger({
    level: 'debug',
    write: (line) => {
      const record = JSON.parse(line) as Record<string, unknown>;
      records.push(record);
      for (const waiter of [...waiters]) {
        if (waiter.predicate(record)) {
          waiters.splice(waiters.indexOf(waiter), 1);
          waiter.resolve(record);
        }
      }
    },
  });
  return {
    log,
    records,
    waitFor(predicate, timeoutMs = 5000) {
      const found = records.find(predicate);
      if (found) return Promise.resolve(found);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('log record not seen')), timeoutMs);
        waiters.push({
          predicate,
          resolve: (r) => {
            clearTimeout(timer);
            resolve(r);
          },
        });
      });
    },
  };
}

export async function startServer(options: Partial<CommlinkOptions> & { bag: KeyBag }): Promise<{ server: CommlinkServer; port: number }> {
  const server = new CommlinkServer({ log: silentLogger, ...options });
  const { port } = await server.listen(0, '127.0.0.1');
  return { server, port };
}

export function makeClient(options: Partial<ClientOptions> & { bag: KeyBag; port: number }): CommlinkClient {
  return new CommlinkClient({ host: '127.0.0.1', log: silentLogger, reconnectMinMs: 20, reconnectMaxMs: 200, ...options });
}
