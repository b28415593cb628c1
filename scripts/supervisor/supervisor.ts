import { fileURLToPath } from 'node:url';
import type { Config } from '../../lib/config/index.js';
import type { Logger } from '../../lib/log/logger.js';
import type { ServiceEndpoints } from '../../lib/service/run-service.js';
import { DEFAULT_RESTART_POLICY, ServiceProcess, type RestartPolicy } from './service-process.js';

export type ServiceName = 'internal-db' | 'web' | 'file-host';

export interface SupervisorOptions {
  readonly config: Config;
  /** The environment the services inherit (FFS_* settings included). */
  readonly env: NodeJS.ProcessEnv;
  readonly log: Logger;
  readonly readyTimeoutMs?: number;
  readonly restart?: RestartPolicy;
}

const SCRIPTS: Record<ServiceName, string> = {
  'internal-db': fileURLToPath(new URL('../../services/internal-db/main.js', import.meta.url)),
  web: fileURLToPath(new URL('../../services/web/main.js', import.meta.url)),
  'file-host': fileURLToPath(new URL('../../services/ftp/main.js', import.meta.url)),
};

/**
 * Runs the internal-db, the web host and the file host, each in its own process, in the order the
 * connection mode needs (the side that listens first), and keeps them running: a service that dies
 * is restarted on the same ports (a port configured as 0 is pinned to the one it got first), while
 * the others keep serving and reconnect by themselves. `close()` stops them in reverse order.
 */
export class Supervisor {
  readonly services: ReadonlyMap<ServiceName, ServiceProcess>;
  readonly #order: ServiceName[];
  readonly #first = new Map<ServiceName, ServiceEndpoints>();

  private constructor(options: SupervisorOptions) {
    const { config, env, log } = options;
    const dialMode = config.services.internalDb.mode === 'dial';
    this.#order = dialMode ? ['web', 'internal-db', 'file-host'] : ['internal-db', 'web', 'file-host'];
    const services = new Map<ServiceName, ServiceProcess>();
    for (const name of this.#order) {
      services.set(
        name,
        new ServiceProcess({
          name,
          script: SCRIPTS[name],
          env: () => ({ ...env, ...this.#wiring(name, dialMode) }),
          readyTimeoutMs: options.readyTimeoutMs ?? 60_000,
          restart: options.restart ?? DEFAULT_RESTART_POLICY,
          log: log.child({ supervised: name }),
        }),
      );
    }
    this.services = services;
  }

  /** Starts the three in order, each once the one before is ready; on a failure the started ones are stopped. */
  static async start(options: SupervisorOptions): Promise<Supervisor> {
    const supervisor = new Supervisor(options);
    try {
      for (const name of supervisor.#order) {
        const ready = await supervisor.service(name).start();
        supervisor.#first.set(name, ready.endpoints);
      }
    } catch (err) {
      await supervisor.close();
      throw err;
    }
    return supervisor;
  }

  service(name: ServiceName): ServiceProcess {
    return this.services.get(name)!;
  }

  /** The endpoints each service reported on its first run (restarts keep them). */
  endpoints(name: ServiceName): ServiceEndpoints {
    return this.#first.get(name) ?? {};
  }

  /** Stops the services in reverse start order (the file host first, so it leaves the web host cleanly). */
  async close(graceMs = 10_000): Promise<void> {
    for (const name of [...this.#order].reverse()) await this.service(name).stop(graceMs);
  }

  /** The FFS_* overrides for a service's next run: the ports the others got, and its own ports pinned once known. */
  #wiring(name: ServiceName, dialMode: boolean): Record<string, string> {
    const port = (service: ServiceName, key: string): string | undefined => {
      const value = this.#first.get(service)?.[key];
      return typeof value === 'number' ? String(value) : undefined;
    };
    const pairs: [string, string | undefined][] = [];
    if (name === 'internal-db') {
      pairs.push(['FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT', port('internal-db', 'commlinkPort')]);
      if (dialMode) pairs.push(['FFS_SERVICES__INTERNAL_DB__DIAL_PORT', port('web', 'dialPort')]);
    } else if (name === 'web') {
      pairs.push(['FFS_SERVICES__WEB__PORT', port('web', 'port')], ['FFS_SERVICES__WEB__COMMLINK_PORT', port('web', 'commlinkPort')]);
      pairs.push(['FFS_SERVICES__WEB__OPS_PORT', port('web', 'opsPort')]);
      pairs.push(['FFS_SERVICES__WEB__HTTP_REDIRECT_PORT', port('web', 'redirectPort')]); // only when it runs one
      pairs.push(
        dialMode
          ? ['FFS_SERVICES__INTERNAL_DB__DIAL_PORT', port('web', 'dialPort')]
          : ['FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT', port('internal-db', 'commlinkPort')],
      );
    } else {
      pairs.push(['FFS_SERVICES__WEB__COMMLINK_PORT', port('web', 'commlinkPort')]);
      pairs.push(
        ['FFS_SERVICES__FTP__HTTP_PORT', port('file-host', 'httpPort')],
        ['FFS_SERVICES__FTP__FTP_PORT', port('file-host', 'ftpPort')],
        ['FFS_SERVICES__FTP__SFTP_PORT', port('file-host', 'sftpPort')],
      );
    }
    return Object.fromEntries(pairs.filter((pair): pair is [string, string] => pair[1] !== undefined && pair[1] !== ''));
  }
}
