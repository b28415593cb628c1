import type { Readable } from 'node:stream';
import semver from 'semver';
import * as FileHost from '../../lib/contracts/file-host/operations.js';
import type { Change, ChangeKind } from '../../lib/contracts/internal-db/changes.js';
import * as InternalDb from '../../lib/contracts/internal-db/index.js';
import type { ReplyOut, RequestIn } from '../../lib/contracts/operation.js';
import { everyPage, MAX_PAGE } from '../../lib/contracts/page.js';
import { isError } from '../../lib/errors/index.js';
import type { Logger } from '../../lib/log/logger.js';
import type { TicketSigning } from '../../lib/tickets/index.js';
import { WebErrors } from './errors.js';
import { EntitlementCache, matchesFilter, type ResolveFilter } from './entitlement-cache.js';
import type { FileHostInfo as FileHostEntry, FileHostsView } from './file-hosts-view.js';
import type { InternalDbAsk } from './internal-db-ask.js';
import type { WebMetrics } from './ops/metrics.js';
import type { DownloadLink, Staging } from './shapes.js';
import { StagedCache } from './staged-cache.js';
import { TicketReuse } from './ticket-reuse.js';

type ResolvedArtifact = InternalDb.ResolvedArtifact;

/** Changes that make one customer's stagings and links stale. */
const CUSTOMER_CHANGES: ReadonlySet<ChangeKind> = new Set<ChangeKind>([
  'entitlement.granted',
  'entitlement.revoked',
  'entitlement.starting',
  'entitlement.expiring',
  'entitlement.expired',
  'customer.disabled',
  'eula.accepted',
]);
/** Changes that may make anyone's stagings and links stale. */
const EVERYONE_CHANGES: ReadonlySet<ChangeKind> = new Set<ChangeKind>(['release.yanked', 'eula.set', 'vendor.disabled']);

export type { ResolveFilter };

export interface FulfillmentOptions {
  db: InternalDbAsk;
  fileHosts: FileHostsView;
  /** Signs tickets: in this thread (TicketSigner) or in the crypto pool (PooledTicketSigner). */
  signer: TicketSigning;
  ticketTtlSeconds: number;
  metrics?: WebMetrics;
  log: Logger;
  /** How long a staging done here is trusted without asking the file host again, in ms (the change feed drops it when it goes stale). */
  stagedCacheMs?: number;
  /** Whether the change feed is live (ChangeFeed.live): customers' artifacts are remembered only then; absent: never (every check asks). */
  feedLive?: () => boolean;
}

/**
 * The web host's orchestration of fulfilment: entitlement checks with the internal-db, staging
 * on a file host, signed download URLs, uploads relayed to a file host. The portal and the REST API
 * call these. A customer's artifacts are remembered while the change feed is live
 * (entitlement-cache.ts) and dropped by it; a refusal (not entitled, EULA not accepted) is never
 * decided on what is remembered: it is asked again, so a grant or an acceptance made a moment ago
 * is seen at once.
 */
export class Fulfillment {
  readonly #db: InternalDbAsk;
  readonly #fileHosts: FileHostsView;
  readonly #signer: TicketSigning;
  readonly #ticketTtlMs: number;
  readonly #metrics: WebMetrics | undefined;
  readonly #log: Logger;
  readonly #staged: StagedCache<Staging>;
  readonly #tickets: TicketReuse;
  /** Each customer's artifacts, remembered while the change feed is live. */
  readonly entitlements: EntitlementCache;
  /** Counts what was dropped: a staging that was in flight meanwhile is not remembered. */
  #drops = 0;

  constructor(options: FulfillmentOptions) {
    this.#db = options.db;
    this.#fileHosts = options.fileHosts;
    this.#signer = options.signer;
    this.#ticketTtlMs = options.ticketTtlSeconds * 1000;
    this.#metrics = options.metrics;
    this.#log = options.log;
    this.#staged = new StagedCache(options.stagedCacheMs ?? 300_000);
    this.#tickets = new TicketReuse(Math.min(60_000, this.#ticketTtlMs / 10));
    const feedLive = options.feedLive ?? (() => false);
    this.entitlements = new EntitlementCache({ resolve: (customer) => this.#resolve(customer), live: feedLive });
    options.fileHosts.on('left', (entry: FileHostEntry) => {
      this.#staged.dropHost(entry.name);
      this.#tickets.dropHost(entry.name);
    });
  }

  /**
   * The artifacts the customer may download now (newest release first within a product): remembered
   * while the change feed is live, else asked; a filter narrows the list as release.resolve would.
   */
  async entitledArtifacts(customer: string, filter: ResolveFilter = {}): Promise<readonly ResolvedArtifact[]> {
    const all = await this.entitlements.artifacts(customer);
    return filter.product === undefined &&
      filter.version === undefined &&
      filter.channel === undefined &&
      filter.platform === undefined &&
      filter.arch === undefined
      ? all
      : all.filter((a) => matchesFilter(a, filter));
  }

  /**
   * The customer's artifacts for a decision: a remembered list is used only when it grants what is
   * asked (`grants`); a refusal is asked of the internal-db again (a grant or an acceptance made a
   * moment ago may not have come through the feed yet).
   */
  async #entitledFor(customer: string, grants: (all: readonly ResolvedArtifact[]) => boolean): Promise<readonly ResolvedArtifact[]> {
    const remembered = await this.entitlements.artifacts(customer);
    return grants(remembered) ? remembered : this.entitlements.fresh(customer);
  }

  /** The customer's artifacts asked of the internal-db now (every page). */
  #resolve(customer: string): Promise<ResolvedArtifact[]> {
    return everyPage(async (cursor) => {
      const { artifacts, next } = await this.#db.ask(InternalDb.releaseResolve, { customer, cursor, limit: MAX_PAGE });
      return { items: artifacts, next };
    });
  }

  /**
   * Stages a release for a customer: checks the entitlement (and EULA), has a file host link the
   * artifacts into the customer's area (pruning releases no longer entitled), records the staging,
   * and returns a signed download URL per file, with the FTP and SFTP locations.
   */
  async stage(customer: string, product: string, version: string, host?: string): Promise<Staging> {
    const started = performance.now();
    const grants = (all: readonly ResolvedArtifact[]) => {
      const artifacts = all.filter((a) => a.product === product && a.version === version);
      return artifacts.length > 0 && artifacts.every((a) => a.eulaAccepted);
    };
    return this.#measured(started, (async () => this.#stageFrom(await this.#entitledFor(customer, grants), customer, product, version, host))());
  }

  /** Staging work, timed from `started` into the staging metric (ok or failed). */
  async #measured<T>(started: number, work: Promise<T>): Promise<T> {
    try {
      const value = await work;
      this.#metrics?.staging((performance.now() - started) / 1000, true);
      return value;
    } catch (err) {
      this.#metrics?.staging((performance.now() - started) / 1000, false);
      throw err;
    }
  }

  async #stageFrom(all: readonly ResolvedArtifact[], customer: string, product: string, version: string, host: string | undefined): Promise<Staging> {
    const drops = this.#drops;
    const artifacts = all.filter((a) => a.product === product && a.version === version);
    if (artifacts.length === 0) throw WebErrors.NOT_ENTITLED(`${customer} is not entitled to ${product} ${version}`, { customer, product, version });
    const eula = artifacts.find((a) => !a.eulaAccepted);
    if (eula) throw WebErrors.EULA_REQUIRED(`${product} ${version}: the EULA must be accepted first`, { eulaId: eula.eulaId });
    // What may stay staged beside it: granted, and not behind a EULA the customer has not accepted.
    const servable = all.filter((a) => a.eulaAccepted);
    const entitled = [...new Map(servable.map((a) => [`${a.product}\u0000${a.version}`, { product: a.product, version: a.version }])).values()];
    const items = artifacts.map((a) => ({ objectId: a.objectId, product, version, filename: a.filename }));
    const { fileHost, reply } = await this.#stageOnSomeHost(host, { customer, items, entitled });
    await this.#db.ask(InternalDb.stagingRecord, { customer, product, version, host: fileHost.name });
    const files = await Promise.all(
      reply.files.map(async (f, n) => {
        const artifact = artifacts[n]!;
        const { url } = await this.#signedLink(customer, fileHost.name, f.path, artifact.artifactId);
        return { path: f.path, method: f.method, size: f.size, artifactId: artifact.artifactId, sha256: artifact.sha256, filename: artifact.filename, url };
      }),
    );
    const where = `/${encodeURIComponent(product)}/${encodeURIComponent(version)}/`;
    const staged: Staging = { host: fileHost.name, product, version, files, pruned: reply.pruned, ms: reply.ms, login: customer };
    if (fileHost.ftpUrl) staged.ftpUrl = `${withLogin(fileHost.ftpUrl, customer)}${where}`;
    if (fileHost.sftpUrl) staged.sftpUrl = `${withLogin(fileHost.sftpUrl, customer)}${where}`;
    if (drops === this.#drops) this.#staged.set(customer, `${product}\u0000${version}`, fileHost.name, staged);
    return staged;
  }

  /**
   * Has a file host stage `body`: the named one, or (no name) the one `pick` chooses, and when that
   * one cannot be reached (it died or froze while the request was in flight: its connection closes
   * at the heartbeat timeout at the latest) the next live one. Staging is idempotent, so asking
   * again elsewhere is safe. With no host left, the last ERR_GATEWAY_UNAVAILABLE (or
   * ERR_NO_FILE_HOST) is the answer.
   */
  async #stageOnSomeHost(
    host: string | undefined,
    body: RequestIn<typeof FileHost.stage>,
  ): Promise<{ fileHost: FileHostEntry; reply: ReplyOut<typeof FileHost.stage> }> {
    const failed = new Set<string>();
    let lastFailure: unknown;
    for (;;) {
      let fileHost: FileHostEntry;
      try {
        fileHost = this.#fileHosts.pick(host, failed);
      } catch (err) {
        throw lastFailure ?? err;
      }
      try {
        return { fileHost, reply: await this.#fileHosts.ask(fileHost, FileHost.stage, body) };
      } catch (err) {
        if (host !== undefined || !isError(err, WebErrors.GATEWAY_UNAVAILABLE)) throw err; // it answered: its answer stands
        this.#log.warn('staging failed over: the file host did not answer', { host: fileHost.name, customer: body.customer, err });
        failed.add(fileHost.name);
        lastFailure = err;
      }
    }
  }

  /**
   * A signed download link for one artifact the customer is entitled to: its release is staged (or
   * was, moments ago, on a file host still connected) and the link points at that file host.
   */
  async link(customer: string, artifactId: number): Promise<DownloadLink> {
    const all = await this.#entitledFor(customer, (list) => list.some((a) => a.artifactId === artifactId && a.eulaAccepted));
    const artifact = all.find((a) => a.artifactId === artifactId);
    if (!artifact) throw WebErrors.NOT_ENTITLED(`${customer} is not entitled to artifact ${artifactId} (or it does not exist)`, { artifactId });
    if (!artifact.eulaAccepted)
      throw WebErrors.EULA_REQUIRED(`${artifact.product} ${artifact.version}: the EULA must be accepted first`, { eulaId: artifact.eulaId });
    const key = `${artifact.product}\u0000${artifact.version}`;
    for (let attempt = 1; ; attempt++) {
      const staged =
        this.#staged.get(customer, key, (name) => this.#fileHosts.has(name)) ??
        (await this.#measured(performance.now(), this.#stageFrom(all, customer, artifact.product, artifact.version, undefined)));
      const file = staged.files.find((f) => f.artifactId === artifactId)!;
      try {
        const { url, expiresAt } = await this.#signedLink(customer, staged.host, file.path, artifactId);
        return {
          url,
          expiresAt: new Date(expiresAt).toISOString(),
          artifactId,
          filename: file.filename,
          size: file.size,
          sha256: file.sha256,
          host: staged.host,
        };
      } catch (err) {
        // Its file host left between the staging and the signature: stage once more, elsewhere.
        if (attempt > 1 || !isError(err, WebErrors.NO_FILE_HOST)) throw err;
      }
    }
  }

  /**
   * The download URL of a staged file: one signed moments ago for the same customer, host and file
   * (ticket-reuse.ts), or a fresh one. Staging and links share it, so a link right after a
   * staging costs no second signature.
   */
  #signedLink(customer: string, host: string, path: string, artifactId: number): Promise<{ url: string; expiresAt: number }> {
    return this.#tickets.get(host, `${customer}\u0000${path}\u0000${artifactId}`, async () => {
      const expiresAt = Math.floor((Date.now() + this.#ticketTtlMs) / 1000) * 1000;
      return { url: await this.downloadUrl(customer, path, { artifactId, host, expiresAt }), expiresAt };
    });
  }

  /**
   * The newest release the customer may have of a product, for a platform and channel, newer than
   * `current`: its artifacts (or none: up to date).
   */
  async upgrade(customer: string, filter: Required<Pick<ResolveFilter, 'product'>> & ResolveFilter, current: string): Promise<readonly ResolvedArtifact[]> {
    const artifacts = await this.entitledArtifacts(customer, filter);
    const newer = artifacts.filter((a) => semver.gt(a.version, current));
    if (newer.length === 0) return [];
    const newest = newer.reduce((best, a) => (semver.gt(a.version, best.version) ? a : best));
    return newer.filter((a) => a.version === newest.version);
  }

  /** A signed, expiring URL for a staged file (`path` is `/product/version/filename`). */
  async downloadUrl(customer: string, path: string, options: { artifactId?: number; host?: string; ttlMs?: number; expiresAt?: number } = {}): Promise<string> {
    const fileHost = this.#fileHosts.pick(options.host);
    const expiresAt = options.expiresAt ?? Date.now() + (options.ttlMs ?? this.#ticketTtlMs);
    const ticket = await this.#signer.sign({ customer, path, expiresAt, artifactId: options.artifactId });
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    return `${fileHost.httpUrl}/files${encoded}?ticket=${ticket}`;
  }

  /** Has a file host remove what the customer is no longer entitled to (it asks the internal-db). */
  async prune(customer: string, host?: string): Promise<string[]> {
    this.#forgetCustomer(customer);
    this.#tickets.clear();
    const { removed } = await this.#fileHosts.ask(this.#fileHosts.pick(host), FileHost.prune, { customer });
    return removed;
  }

  /**
   * Prunes the customer's area on every connected file host (after a revocation, a yank, a disabled
   * customer). A file host that cannot be reached now prunes at the customer's next login there.
   */
  async pruneEverywhere(customer: string): Promise<string[]> {
    this.#forgetCustomer(customer);
    const removed: string[] = [];
    for (const host of this.#fileHosts.list()) {
      try {
        removed.push(...(await this.prune(customer, host.name)));
      } catch (err) {
        this.#log.warn('prune on a file host failed; it prunes at the next login', { customer, host: host.name, err });
      }
    }
    return removed;
  }

  /**
   * A customer was disabled: nothing of it is remembered here any more (stagings, links), its open
   * FTP and SFTP sessions and HTTP downloads end on every file host, and its areas are emptied
   * there (the internal-db grants a disabled customer nothing).
   */
  async customerDisabled(customer: string): Promise<string[]> {
    this.#forgetCustomer(customer);
    // Its open sessions and downloads end first, then its areas are emptied.
    await Promise.all(
      this.#fileHosts.list().map((host) =>
        this.#fileHosts.ask(host, FileHost.customerEnd, { customer }).catch((err: unknown) => {
          this.#log.warn('ending a customer on a file host failed; its area is pruned at its next login there', { customer, host: host.name, err });
        }),
      ),
    );
    return this.pruneEverywhere(customer);
  }

  /**
   * What a product or release may no longer be served as staged (a yank, a EULA put before it):
   * every customer who has it staged has its areas pruned on every file host to what it may have
   * now (a yanked release is granted to no one; a release behind an unaccepted EULA is not served).
   */
  async withdraw(product: string, version?: string): Promise<string[]> {
    this.forgetStagings();
    const customers = await everyPage(async (cursor) => {
      const page = await this.#db.ask(InternalDb.stagingCustomers, { product, version, cursor, limit: MAX_PAGE });
      return { items: page.customers, next: page.next };
    });
    const removed: string[] = [];
    for (const customer of customers) removed.push(...(await this.pruneEverywhere(customer)));
    return removed;
  }

  /** Forgets every staging and every customer's artifacts remembered here (after a yank, which may touch any customer). */
  forgetStagings(): void {
    this.#drops++;
    this.entitlements.clear();
    this.#staged.clear();
    this.#tickets.clear();
  }

  /** Forgets the stagings, links and artifacts of one customer. */
  #forgetCustomer(customer: string): void {
    this.#drops++;
    this.entitlements.forgetCustomer(customer);
    this.#staged.dropCustomer(customer);
    this.#tickets.dropCustomer(customer);
  }

  /**
   * The change feed's listener: a change to a customer's entitlements, EULA acceptances or state
   * drops its stagings and links; a yank, a EULA put before a product or a disabled vendor drops
   * everyone's (they may touch any customer); a reset drops everything.
   */
  readonly listener = {
    change: (change: Change): void => {
      this.entitlements.listener.change(change); // its own, wider rules (entitlement-cache.ts)
      if (CUSTOMER_CHANGES.has(change.kind)) {
        if (change.customer !== undefined) this.#forgetCustomer(change.customer);
        else this.forgetStagings();
      } else if (EVERYONE_CHANGES.has(change.kind)) this.forgetStagings();
    },
    reset: (): void => this.forgetStagings(),
  };

  /** Streams an upload to a file host's repository; resolves with the object id (its SHA-256) and size. */
  async ingest(source: Readable, expect: RequestIn<typeof FileHost.ingest> = {}, host?: string): Promise<ReplyOut<typeof FileHost.ingest>> {
    return this.#fileHosts.ask(this.#fileHosts.pick(host), FileHost.ingest, expect, { stream: source, timeoutMs: 3_600_000 });
  }
}

/** `ftp://host:port` → `ftp://login@host:port`. */
function withLogin(base: string, login: string): string {
  return base.replace('://', `://${encodeURIComponent(login)}@`);
}
