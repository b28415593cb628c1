/**
 * Two web hosts and two file hosts on one internal-db, each a process (processes.ts): web-1 and
 * web-2 share the internal-db and the data dir's secrets (key bags, ticket key, portal session
 * keys); file-1 dials web-1 and file-2 dials web-2; both file hosts share one repository (an
 * upload through web-1 lands in it) and have areas of their own. For the change feed's
 * measurements across processes (change-feed-processes*.test.ts).
 */
import { join } from 'node:path';
import { apiAt, type ApiAnswer, type ApiCallOptions } from './api.js';
import { endpointPort, fileHostEnv, startBackbone, startService, tail, type Backbone, type ServiceProcess, type TeardownScope } from './processes.js';
import { waitFor } from './wait.js';

/** Where a file host serves (the ports its ready message gave). */
export interface FileHostPorts {
  http: number;
  ftp: number;
  sftp: number;
}

export type ApiAt = (method: string, path: string, options?: ApiCallOptions) => Promise<ApiAnswer>;

/** The processes a test may kill and start again (on the same ports, with the same data). */
export type Restartable = 'internal-db' | 'web-2' | 'file-2';

export interface FeedCluster extends Backbone {
  /** The internal-db now (a new process after a restart). */
  readonly db: ServiceProcess;
  /** web-1 (the backbone's web host): changes are made through it. */
  web1: ServiceProcess;
  /** web-2 now. */
  readonly web2: ServiceProcess;
  web2Url: string;
  /** web-2's commlink port (file hosts dial it; it stays the same across a restart). */
  web2CommlinkPort: number;
  /** web-1's commlink port. */
  web1CommlinkPort: number;
  file1: ServiceProcess;
  /** file-2 now. */
  readonly file2: ServiceProcess;
  file1Ports: FileHostPorts;
  /** file-2's ports (the same across a restart). */
  file2Ports: FileHostPorts;
  /** An admin API token (made through the internal-db). */
  admin: string;
  api1: ApiAt;
  api2: ApiAt;
  /** Kills a process with SIGKILL (its whole process group, workers too) and waits until it is gone. */
  kill(name: Restartable): Promise<void>;
  /**
   * Starts a killed process again on the same ports; resolves once it is ready (its ready
   * message) and, for file-2, registered with web-2 again.
   */
  start(name: Restartable): Promise<void>;
  /** The end of every process's log, for a failure message. */
  logs(): string;
}

/**
 * Long cache lifetimes everywhere (ten minutes), so only the feed can make a change take effect
 * within a second; the brute-force defender and session limits out of the way of a test that
 * logs in hundreds of times from one address.
 */
export const FEED_CLUSTER_ENV = {
  FFS_SERVICES__WEB__API_TOKEN_CACHE_SECONDS: '600',
  FFS_SERVICES__FTP__LOGIN_CACHE_SECONDS: '600',
  FFS_SERVICES__FTP__DEFENDER_THRESHOLD: '10000',
  FFS_SERVICES__FTP__MAX_SESSIONS_PER_CUSTOMER: '10000',
  FFS_SERVICES__FTP__MAX_SESSIONS_PER_ADDRESS: '10000',
  FFS_SERVICES__FTP__MAX_UNAUTHENTICATED_CONNECTIONS: '10000',
  FFS_SERVICES__WEB__LOGIN_FAILURES_PER_ADDRESS: '10000',
  FFS_SERVICES__WEB__LOGIN_FAILURES_PER_LOGIN: '10000',
  FFS_SERVICES__WEB__WORKERS: '2', // not one per core: the same processes on any machine
};

/** Starts the cluster; `passiveMin`: the first of 20 FTP passive ports (10 per file host). */
export async function startFeedCluster(scope: TeardownScope, passiveMin: number, extraEnv: Record<string, string> = {}): Promise<FeedCluster> {
  const backbone = await startBackbone(scope, { ...FEED_CLUSTER_ENV, ...extraEnv });
  const { dataDir, call } = backbone;
  const admin = (await call('token.create', { kind: 'admin' })).token as string;
  const api1: ApiAt = (method, path, options = {}) => apiAt(backbone.webUrl, method, path, { timeoutMs: 30_000, ...options });

  const web2Env = { ...backbone.env, FFS_SERVICES__WEB__COMMLINK_PORT: '0', FFS_SERVICES__WEB__PORT: '0', FFS_SERVICES__WEB__OPS_PORT: '0' };
  const running = new Map<string, ServiceProcess>([
    ['internal-db', backbone.db],
    ['web-1', backbone.web],
  ]);
  const logs = () => [...running.values()].map((p) => tail(p, 1500)).join('\n');
  running.set('web-2', startService(scope, 'web-2', 'web', web2Env));
  const web2Ready = await running.get('web-2')!.ready();
  const web2Url = String(web2Ready.endpoints.url);
  const api2: ApiAt = (method, path, options = {}) => apiAt(web2Url, method, path, { timeoutMs: 30_000, ...options });
  const registered = (name: string, api: ApiAt) =>
    waitFor(
      async () =>
        (((await api('GET', '/api/v1/file-hosts', { token: admin })).body.fileHosts as { name: string }[] | undefined) ?? []).some((h) => h.name === name),
      30_000,
      () => `${name} to register with its web host\n${logs()}`,
    );

  // Started again, each comes back on the ports it got the first time (and file-2 dials the same web-2).
  const envOf = new Map<string, Record<string, string>>([
    ['internal-db', backbone.env],
    [
      'web-2',
      {
        ...web2Env,
        FFS_SERVICES__WEB__COMMLINK_PORT: String(endpointPort(web2Ready, 'commlinkPort')),
        FFS_SERVICES__WEB__PORT: String(endpointPort(web2Ready, 'port')),
        FFS_SERVICES__WEB__OPS_PORT: String(endpointPort(web2Ready, 'opsPort')),
      },
    ],
  ]);
  const startFileHost = async (name: string, webCommlinkPort: string, passive: number, api: ApiAt): Promise<FileHostPorts> => {
    const env = {
      ...fileHostEnv(backbone, passive),
      FFS_SERVICES__WEB__COMMLINK_PORT: webCommlinkPort,
      FFS_SERVICES__FTP__NAME: name,
      FFS_SERVICES__FTP__REPOSITORY_DIR: join(dataDir, 'repository'),
      FFS_SERVICES__FTP__AREAS_DIR: join(dataDir, name, 'areas'),
      FFS_SERVICES__FTP__INBOX_DIR: join(dataDir, name, 'inbox'),
      FFS_SERVICES__FTP__AUDIT_JOURNAL_DIR: join(dataDir, name, 'audit-journal'),
    };
    running.set(name, startService(scope, name, 'file-host', env));
    const ready = await running.get(name)!.ready();
    await registered(name, api);
    const ports = { http: endpointPort(ready, 'httpPort'), ftp: endpointPort(ready, 'ftpPort'), sftp: endpointPort(ready, 'sftpPort') };
    envOf.set(name, {
      ...env,
      FFS_SERVICES__FTP__HTTP_PORT: String(ports.http),
      FFS_SERVICES__FTP__FTP_PORT: String(ports.ftp),
      FFS_SERVICES__FTP__SFTP_PORT: String(ports.sftp),
    });
    return ports;
  };
  const file1Ports = await startFileHost('file-1', backbone.env.FFS_SERVICES__WEB__COMMLINK_PORT, passiveMin, api1);
  const file2Ports = await startFileHost('file-2', envOf.get('web-2')!.FFS_SERVICES__WEB__COMMLINK_PORT, passiveMin + 10, api2);
  const ENTRIES = { 'internal-db': 'internal-db', 'web-2': 'web', 'file-2': 'file-host' } as const;

  return {
    ...backbone,
    get db() {
      return running.get('internal-db')!;
    },
    web1: backbone.web,
    get web2() {
      return running.get('web-2')!;
    },
    web2Url,
    web2CommlinkPort: Number(envOf.get('web-2')!.FFS_SERVICES__WEB__COMMLINK_PORT),
    web1CommlinkPort: Number(backbone.env.FFS_SERVICES__WEB__COMMLINK_PORT),
    file1: running.get('file-1')!,
    get file2() {
      return running.get('file-2')!;
    },
    file1Ports,
    file2Ports,
    admin,
    api1,
    api2,
    async kill(name) {
      const proc = running.get(name)!;
      proc.signal('SIGKILL');
      await proc.exited;
    },
    async start(name) {
      if (!running.get(name)!.gone) throw new Error(`${name} is running`);
      running.set(name, startService(scope, name, ENTRIES[name], envOf.get(name)!));
      await running.get(name)!.ready();
      if (name === 'file-2') await registered(name, api2);
    },
    logs,
  };
}

/** Fails with the answer when its status is not `status`; gives the answer. */
export function expectStatus(answer: ApiAnswer, status: number, what: string): ApiAnswer {
  if (answer.status !== status) throw new Error(`${what}: expected ${status}, got ${answer.status}: ${answer.text.slice(0, 500)}`);
  return answer;
}

/**
 * Publishes `product` `version` with one small artifact through `api` as `token` (a vendor or an
 * admin): a draft, the upload (to a file host, into the shared repository), then publish.
 * Resolves with the artifact's file name.
 */
export async function publishRelease(api: ApiAt, token: string, product: string, version: string, content: Buffer): Promise<string> {
  const filename = `${product}-${version}.bin`;
  expectStatus(await api('POST', `/api/v1/products/${product}/releases`, { token, json: { version } }), 201, `draft ${product} ${version}`);
  const upload = () =>
    api('PUT', `/api/v1/products/${product}/releases/${version}/artifacts/${filename}`, {
      token,
      body: content,
      headers: { 'content-type': 'application/octet-stream' },
    });
  // fetch reuses the draft's keep-alive connection; on a starved machine this process can wake after
  // the web host closed it as idle (5 s), and the write fails (EPIPE) before anything was received.
  // Nothing was stored then, so the upload is sent once more on a fresh connection.
  const answer = await upload().catch((err: unknown) => {
    if (!(err instanceof TypeError)) throw err;
    return upload();
  });
  expectStatus(answer, 201, `upload ${filename}`);
  expectStatus(await api('POST', `/api/v1/products/${product}/releases/${version}/publish`, { token }), 200, `publish ${product} ${version}`);
  return filename;
}
