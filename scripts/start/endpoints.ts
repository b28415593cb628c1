import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/commlink/keybag-file.js';
import type { Config } from '../../lib/config/index.js';
import { DEMO } from '../../services/internal-db/demo.js';
import type { ServiceName, Supervisor } from '../supervisor/supervisor.js';
import type { DemoSecrets } from './demo-setup.js';
import { pinnedFetch } from './pinned-fetch.js';
import type { WebCertificate } from './web-tls.js';

/** What `npm start` writes to `<dataDir>/endpoints.json` (mode 0600: it holds the demo secrets). */
export interface Endpoints {
  readonly web: string;
  readonly api: string;
  /** The web host's HTTPS certificate: trust this file (curl --cacert) or pin its SHA-256 fingerprint. */
  readonly webCertificate: { readonly path: string; readonly sha256Fingerprint: string; readonly selfSigned: boolean };
  /** The web host's Prometheus metrics, on its operations listener (loopback by default; not on the public port). */
  readonly metrics: string;
  readonly ftp: string;
  readonly sftp: string;
  /** A signed link to the newest demo release's artifact (valid for the ticket lifetime). */
  readonly download: string | null;
  readonly demo: {
    readonly customer: { readonly login: string; readonly password: string | null; readonly apiToken: string | null };
    readonly vendor: { readonly apiToken: string | null };
    readonly adminToken: string | null;
  };
  readonly fileHost: { readonly name: string; readonly http: string };
  readonly services: Record<ServiceName, { readonly pid: number | null; readonly restarts: number }>;
  readonly updatedAt: string;
}

export function endpointsPath(config: Config): string {
  return join(config.dataDir, 'endpoints.json');
}

/** Where everything is, from the services' own ready messages; the URLs use the configured host names. */
export function describeEndpoints(
  config: Config,
  supervisor: Supervisor,
  certificate: WebCertificate,
  secrets: DemoSecrets | undefined,
  download: string | null,
): Endpoints {
  const web = String(supervisor.endpoints('web').url);
  const file = supervisor.endpoints('file-host');
  const host = config.services.ftp.host.includes(':') ? `[${config.services.ftp.host}]` : config.services.ftp.host;
  const login = secrets?.customer ?? DEMO.customer;
  const services = Object.fromEntries(
    [...supervisor.services].map(([name, service]) => [name, { pid: service.pid ?? null, restarts: service.restarts }]),
  ) as Endpoints['services'];
  return {
    web,
    api: `${web}/api/v1`,
    webCertificate: { path: certificate.certPath, sha256Fingerprint: certificate.fingerprint256, selfSigned: certificate.selfSigned },
    metrics: `${String(supervisor.endpoints('web').opsUrl)}/metrics`,
    ftp: `ftp://${login}@${host}:${String(file.ftpPort)}/`,
    sftp: `sftp://${login}@${host}:${String(file.sftpPort)}/`,
    download,
    demo: {
      customer: { login, password: secrets?.password ?? null, apiToken: secrets?.customerToken ?? null },
      vendor: { apiToken: secrets?.vendorToken ?? null },
      adminToken: secrets?.adminToken ?? null,
    },
    fileHost: { name: String(file.name), http: String(file.url) },
    services,
    updatedAt: new Date().toISOString(),
  };
}

export async function writeEndpoints(config: Config, endpoints: Endpoints): Promise<string> {
  const path = endpointsPath(config);
  await writeFileAtomic(path, `${JSON.stringify(endpoints, null, 2)}\n`, { mode: 0o600, overwrite: true, dirMode: 0o700 });
  return path;
}

/**
 * Waits until the web host's /readyz answers 200 (the internal-db link is up and a file host is
 * connected), trusting the web host's certificate `ca` (PEM) and nothing else.
 */
export async function waitWebReady(web: string, ca: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    try {
      const res = await pinnedFetch(`${web}/readyz`, ca, { signal: AbortSignal.timeout(2000) });
      const text = await res.text();
      if (res.status === 200) return;
      last = `${res.status} ${text.slice(0, 200)}`;
    } catch (err) {
      last = (err as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`the web host was not ready within ${timeoutMs} ms (/readyz: ${last})`);
}

/**
 * Stages the newest demo release for the demo customer through the REST API (as a customer would)
 * and returns the signed HTTP link of its artifact.
 */
export async function stageDemo(web: string, ca: string, customerToken: string): Promise<{ url: string; version: string }> {
  const headers = { authorization: `Bearer ${customerToken}`, 'content-type': 'application/json' };
  const version = DEMO.versions.at(-1)!;
  const staged = await pinnedFetch(`${web}/api/v1/stagings`, ca, { method: 'POST', headers, body: JSON.stringify({ product: DEMO.product, version }) });
  if (staged.status !== 201) throw new Error(`staging the demo release failed: ${staged.status} ${await staged.text()}`);
  const { files } = (await staged.json()) as { files: { url: string }[] };
  if (!files[0]) throw new Error('staging the demo release gave no file');
  return { url: files[0].url, version };
}
