/**
 * How each service runs inside its host's namespace: the entry point and the FFS_* variables
 * (lib/config/CONFIG.md) that bind it to its host's address and point it at its peers. The test
 * starts the services with these, and `topology up` prints them as commands.
 */
import type { HostRole, TopologyPlan } from './plan.js';

/** Each host's service entry point, relative to the build directory (dist). */
export const ENTRY_POINTS: Record<HostRole, string> = {
  internal: 'services/internal-db/main.js',
  web: 'services/web/main.js',
  file: 'services/ftp/main.js',
};

/** The order to start them in: each dials, or is dialled by, one started before it. */
export const START_ORDER: readonly HostRole[] = ['internal', 'web', 'file'];

/** The FFS_* variables of one host's service (its data directory on that host). */
export function serviceEnv(plan: TopologyPlan, role: HostRole, dataDir: string): Record<string, string> {
  const { addresses: at, ports, internalMode } = plan;
  const env: Record<string, string> = { FFS_DATA_DIR: dataDir };
  switch (role) {
    case 'internal':
      Object.assign(env, {
        FFS_SERVICES__INTERNAL_DB__MODE: internalMode,
        FFS_SERVICES__INTERNAL_DB__HOST: at.internal,
        FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: String(ports.internalCommlink),
        FFS_SERVICES__INTERNAL_DB__DIAL_HOST: at.web,
        FFS_SERVICES__INTERNAL_DB__DIAL_PORT: String(ports.dial),
      });
      break;
    case 'web':
      Object.assign(env, {
        FFS_SERVICES__WEB__HOST: at.web,
        FFS_SERVICES__WEB__PORT: String(ports.webHttp),
        FFS_SERVICES__WEB__COMMLINK_PORT: String(ports.webCommlink),
        FFS_SERVICES__INTERNAL_DB__MODE: internalMode,
        FFS_SERVICES__INTERNAL_DB__HOST: at.internal,
        FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: String(ports.internalCommlink),
        FFS_SERVICES__INTERNAL_DB__DIAL_PORT: String(ports.dial),
      });
      break;
    case 'file':
      Object.assign(env, {
        FFS_SERVICES__FTP__HOST: at.file,
        FFS_SERVICES__FTP__HTTP_PORT: String(ports.fileHttp),
        FFS_SERVICES__FTP__FTP_PORT: String(ports.ftp),
        FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MIN: String(ports.passiveMin),
        FFS_SERVICES__FTP__FTP_PASSIVE_PORT_MAX: String(ports.passiveMax),
        FFS_SERVICES__FTP__FTP_PASSIVE_ADDRESS: at.file,
        FFS_SERVICES__FTP__SFTP_PORT: String(ports.sftp),
        FFS_SERVICES__WEB__HOST: at.web,
        FFS_SERVICES__WEB__COMMLINK_PORT: String(ports.webCommlink),
      });
      break;
  }
  return env;
}

/** argv that runs one host's service in its namespace: `ip netns exec <ns> node <dist>/<entry>`. */
export function serviceArgv(plan: TopologyPlan, role: HostRole, distDir: string, node = 'node'): string[] {
  return ['ip', 'netns', 'exec', plan.namespaces[role], node, `${distDir}/${ENTRY_POINTS[role]}`];
}

/** The same as one shell line, the variables passed by env(1), for people to copy. */
export function serviceCommandLine(plan: TopologyPlan, role: HostRole, dataDir: string, distDir = 'dist'): string {
  const [ipTool, netns, exec, namespace, ...rest] = serviceArgv(plan, role, distDir);
  const vars = Object.entries(serviceEnv(plan, role, dataDir)).map(([k, v]) => `${k}=${v}`);
  return [ipTool, netns, exec, namespace, 'env', ...vars, ...rest].join(' ');
}
