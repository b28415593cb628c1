import type { Readable } from 'node:stream';
import type { Body } from '../../lib/commlink/index.js';
import { TicketSigner } from '../../lib/tickets/index.js';
import { WebErrors } from './errors.js';
import type { FileHostRegistry } from './file-hosts.js';
import type { InternalDbLink } from './internal-db-link.js';

/** An artifact as the internal-db's `release.resolve` answers it. */
export interface ResolvedArtifact {
  product: string;
  version: string;
  channel: string;
  artifactId: number;
  filename: string;
  size: number;
  sha256: string;
  platform: string;
  arch: string;
  objectId: string;
  eulaId: number | null;
  eulaAccepted: boolean;
}

export interface StagedRelease {
  host: string;
  files: { path: string; method: string; size: number; artifactId: number; sha256: string; url: string }[];
  pruned: string[];
  ms: number;
}

/**
 * The web host's orchestration of fulfilment: entitlement checks with the internal-db, staging
 * on a file host, signed download URLs. The HTTP front end and the API call these.
 */
export class Fulfillment {
  readonly #db: InternalDbLink;
  readonly #fileHosts: FileHostRegistry;
  readonly #signer: TicketSigner;
  readonly #ticketTtlMs: number;

  constructor(db: InternalDbLink, fileHosts: FileHostRegistry, ticketPrivateKeyPem: string, ticketTtlSeconds: number) {
    this.#db = db;
    this.#fileHosts = fileHosts;
    this.#signer = new TicketSigner(ticketPrivateKeyPem);
    this.#ticketTtlMs = ticketTtlSeconds * 1000;
  }

  /** The artifacts the customer may download now (all, or of one product). */
  async entitledArtifacts(customer: string, product?: string): Promise<ResolvedArtifact[]> {
    const reply = await this.#db.request('release.resolve', product === undefined ? { customer } : { customer, product });
    return reply.artifacts as unknown as ResolvedArtifact[];
  }

  /**
   * Stages a release for a customer: checks the entitlement (and EULA), has a file host link the
   * artifacts into the customer's area (pruning releases no longer entitled), records the staging,
   * and returns a signed download URL per file.
   */
  async stage(customer: string, product: string, version: string, host?: string): Promise<StagedRelease> {
    const all = await this.entitledArtifacts(customer);
    const artifacts = all.filter((a) => a.product === product && a.version === version);
    if (artifacts.length === 0) throw WebErrors.NOT_ENTITLED(`${customer} is not entitled to ${product} ${version}`, { customer, product, version });
    if (artifacts.some((a) => !a.eulaAccepted)) throw WebErrors.EULA_REQUIRED(`${product} ${version}: the EULA must be accepted first`, { eulaId: artifacts[0]!.eulaId });
    const fileHost = this.#fileHosts.pick(host);
    const entitled = [...new Map(all.map((a) => [`${a.product}\u0000${a.version}`, { product: a.product, version: a.version }])).values()];
    const items = artifacts.map((a) => ({ objectId: a.objectId, product, version, filename: a.filename }));
    const reply = await this.#fileHosts.request(fileHost, 'stage', { customer, items, entitled });
    await this.#db.request('staging.record', { customer, product, version, host: fileHost.name });
    const files = (reply.files as { path: string; method: string; size: number }[]).map((f, n) => {
      const artifact = artifacts[n]!;
      return { ...f, artifactId: artifact.artifactId, sha256: artifact.sha256, url: this.downloadUrl(customer, f.path, { artifactId: artifact.artifactId, host: fileHost.name }) };
    });
    return { host: fileHost.name, files, pruned: reply.pruned as string[], ms: reply.ms as number };
  }

  /** A signed, expiring URL for a staged file (`path` is `/product/version/filename`). */
  downloadUrl(customer: string, path: string, options: { artifactId?: number; host?: string; ttlMs?: number } = {}): string {
    const fileHost = this.#fileHosts.pick(options.host);
    const ticket = this.#signer.sign({ customer, path, expiresAt: Date.now() + (options.ttlMs ?? this.#ticketTtlMs), artifactId: options.artifactId });
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return `${fileHost.httpUrl}/files${encoded}?ticket=${ticket}`;
  }

  /** Has a file host remove what the customer is no longer entitled to (it asks the internal-db). */
  async prune(customer: string, host?: string): Promise<string[]> {
    const reply = await this.#fileHosts.request(this.#fileHosts.pick(host), 'prune', { customer });
    return reply.removed as string[];
  }

  /** Streams an upload to a file host's repository; resolves with the object id (its SHA-256). */
  async ingest(source: Readable, expect: { sha256?: string; size?: number } = {}, host?: string): Promise<Body> {
    const body: Body = {};
    if (expect.sha256 !== undefined) body.sha256 = expect.sha256;
    if (expect.size !== undefined) body.size = expect.size;
    return this.#fileHosts.request(this.#fileHosts.pick(host), 'ingest', body, { stream: source, timeoutMs: 3_600_000 });
  }
}
