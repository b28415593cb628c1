import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import type { CommlinkOptions, KeyBag } from '../../lib/commlink/index.js';
import type { RequestIn } from '../../lib/contracts/operation.js';
import type { fileHostRegister } from '../../lib/contracts/web-gateway.js';
import { CONFIG_DEFAULTS, pickFields } from '../../lib/config/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { Areas } from './common/areas.js';
import { AuditJournal, type PendingOutcome } from './common/audit-journal.js';
import { AuditReporter, type TransferOutcome } from './common/audit-reporter.js';
import { CustomerLogins } from './common/customer-login.js';
import { Defender } from './common/defender.js';
import { LiveSessions, type LiveSession } from './common/live-sessions.js';
import { LoginCache } from './common/login-cache.js';
import { SessionLimits } from './common/session-limits.js';
import { WebLink } from './common/web-link.js';
import { availableParallelism } from 'node:os';
import { DownloadWorkers } from './http/download-workers.js';
import { FileHostMetrics } from './metrics.js';
import { makeFileHostHandlers } from './ops.js';
import { OpsListener } from './ops-http.js';
import { FileChecksums } from './repository/file-checksums.js';
import { HashPool } from './repository/hash-pool.js';
import { Repository } from './repository/repository.js';
import { FtpServer } from './ftp/server.js';
import { SftpServer } from './sftp/server.js';
import { SftpWorkers } from './sftp/sftp-workers.js';
import { checkLinkable } from './staging/filesystem-check.js';
import { Stager } from './staging/stager.js';
import { AreaSync } from './staging/area-sync.js';
import type { EndOptions } from './common/end-options.js';
import { TicketCutoffs } from './common/ticket-cutoffs.js';
import { FeedApplier } from './feed/apply-change.js';
import { ChangeFeed } from './feed/change-feed.js';
import { FeedStateFile, type FeedState } from './feed/feed-state.js';

/** Limits, timeouts and defender settings of the FTP and SFTP servers (transferIdleSeconds: HTTP downloads too). */
export interface SessionSettings {
  loginTimeoutSeconds: number;
  idleTimeoutSeconds: number;
  maxSessionsPerCustomer: number;
  maxSessionsPerAddress: number;
  /** FTP connections, and apart from them SFTP connections, not yet logged in, from every address together. */
  maxUnauthenticatedConnections: number;
  sftpMaxAuthAttempts: number;
  sftpMaxHandles: number;
  /** A download that moves no byte for this long is closed and audited as aborted. */
  transferIdleSeconds: number;
  defenderThreshold: number;
  defenderObservationSeconds: number;
  defenderBanSeconds: number;
  defenderBanIncrementPercent: number;
  /** How long a successful login is remembered; the change feed drops it when it goes stale, so this only bounds it while the web link is down. 0: never. */
  loginCacheSeconds: number;
}

/** The configuration's defaults (lib/config/schema.ts is the one place they are set). */
export const SESSION_DEFAULTS: SessionSettings = pickFields(CONFIG_DEFAULTS.services.ftp, [
  'loginTimeoutSeconds',
  'idleTimeoutSeconds',
  'maxSessionsPerCustomer',
  'maxSessionsPerAddress',
  'maxUnauthenticatedConnections',
  'sftpMaxAuthAttempts',
  'sftpMaxHandles',
  'transferIdleSeconds',
  'defenderThreshold',
  'defenderObservationSeconds',
  'defenderBanSeconds',
  'defenderBanIncrementPercent',
  'loginCacheSeconds',
]);

export interface FileHostOptions {
  name: string;
  host: string;
  httpPort: number;
  /** Base URL customers use; empty: http://host:port. */
  publicHttpUrl: string;
  repositoryDir: string;
  areasDir: string;
  inboxDir: string;
  /** Where outcomes not yet recorded are kept (a file per file host name); absent: in memory only. */
  auditJournalDir?: string;
  allowCrossDevice: boolean;
  auditBatchSize: number;
  auditFlushMs: number;
  ticketCacheEntries: number;
  /** How long an opened file is reused by later requests for it, in ms (0: open per request). */
  openFileCacheMs: number;
  /** HTTP download worker processes (0: one per CPU core). */
  httpWorkers: number;
  /** FTP and SFTP sessions: limits and the brute-force defender (defaults as in the configuration). */
  sessions?: Partial<SessionSettings>;
  /** The SFTP server; absent: no SFTP. */
  sftp?: { port: number; hostKey: string | Buffer; /** Worker processes for SSH (0 or absent: in this process). */ workers?: number };
  /** The FTP server; absent: no FTP. With `tls`, explicit FTPS (AUTH TLS) is offered. */
  ftp?: { port: number; passivePortMin: number; passivePortMax: number; passiveAddress: string; requireTls: boolean; tls?: { cert: string; key: string } };
  /** The web host's ticket-verifying RSA public key (SPKI PEM). */
  ticketPublicKeyPem: string;
  /** The web host's commlink address (the file host dials it). */
  web: { host: string; port: number };
  commlink: Partial<CommlinkOptions> & { bag: KeyBag };
  log: Logger;
  /** How long start() waits for the web host before going on without it (it keeps dialling). */
  webWaitMs?: number;
  /** Where the change feed's state is kept (`<name>.json`: the last change applied, the ticket cut-offs); absent: in memory only. */
  feedStateDir?: string;
  /** The longest a download ticket lives, in seconds: ticket cut-offs older than this are dropped (default 86400). */
  ticketMaxLifetimeSeconds?: number;
  /** How long one `changes.next` waits for a change, in ms (default 20000). */
  feedWaitMs?: number;
  /** Follow the change feed (default true; false only for tests of what the web host orders alone). */
  followChanges?: boolean;
  /** The operations listener (/metrics, /healthz); absent: none. */
  ops?: { host: string; port: number };
}

/**
 * The file host: the repository and the customer areas, HTTP downloads by signed ticket, and the
 * operations the web host orders over the commlink (ingest, stage, prune …). FTP and SFTP join it
 * in services/ftp/{ftp,sftp}.
 */
export class FileHostService {
  readonly name: string;
  readonly repo: Repository;
  readonly areas: Areas;
  readonly stager: Stager;
  readonly audit: AuditReporter;
  readonly link: WebLink;
  readonly linkable: boolean;
  /** Live FTP/SFTP logins through the web host, with the defender and the session limits. */
  readonly logins: CustomerLogins;
  readonly sessions: SessionSettings;
  /** Checksums of area files by object (FTP `HASH`, SSH `sha256sum`): SHA-256 from the repository, others read once. */
  readonly checksums: FileChecksums;
  /** Areas follow entitlements: each customer's area made to hold exactly what it may have now. */
  readonly areaSync: AreaSync;
  /** Download tickets issued before a change that affects them are refused. */
  readonly cutoffs: TicketCutoffs;
  /** The internal-db's change feed, followed through the web host. */
  readonly changeFeed: ChangeFeed;
  /** FTP and SFTP sessions of this process (workers keep their own: liveSessions() asks them). */
  readonly live = new LiveSessions();
  readonly metrics: FileHostMetrics;
  #ops: OpsListener | undefined;
  readonly #hashPool: HashPool;
  readonly #http: DownloadWorkers;
  #sftp: SftpServer | SftpWorkers | undefined;
  #ftp: FtpServer | undefined;
  readonly #loginCache: LoginCache;
  readonly #log: Logger;
  #httpAddress: AddressInfo | undefined;
  #httpUrl = '';
  #closing: Promise<void> | undefined;

  private constructor(
    options: FileHostOptions,
    parts: {
      hashPool: HashPool;
      repo: Repository;
      linkable: boolean;
      journal?: { journal: AuditJournal; left: PendingOutcome[] } | undefined;
      stateFile: FeedStateFile;
      state: FeedState | undefined;
    },
  ) {
    this.name = options.name;
    this.#log = options.log;
    this.#hashPool = parts.hashPool;
    this.repo = parts.repo;
    this.linkable = parts.linkable;
    this.areas = new Areas(options.areasDir);
    this.checksums = new FileChecksums({
      sha256Of: (path, stats) => this.repo.digestOf(path, stats),
      hashFile: (path, algorithm) => parts.hashPool.checksumFile(path, algorithm),
    });
    this.stager = new Stager(this.repo, this.areas, options.log, (customer, removed) => {
      this.#http.invalidate(customer);
      if (removed) this.#loginCache.invalidate(customer); // files added make no remembered login stale
    });
    this.cutoffs = new TicketCutoffs(parts.state?.cutoffs);
    const handlers = makeFileHostHandlers({
      repo: this.repo,
      stager: this.stager,
      inboxDir: options.inboxDir,
      link: { ask: (operation, body, timeoutMs) => this.link.ask(operation, body, timeoutMs) },
      info: () => ({ name: this.name, httpUrl: this.#httpUrl, objects: this.repo.digests.size, linkable: this.linkable }),
      endCustomer: (customer) => this.endCustomer(customer),
      exclusive: (customer, task) => this.areaSync.exclusive(customer, task),
      live: { list: () => this.liveSessions(), end: (id, reason) => this.endSession(id, reason) },
    });
    this.metrics = new FileHostMetrics(() => this.liveSessions());
    this.link = new WebLink({
      ...options.commlink,
      host: options.web.host,
      port: options.web.port,
      handlers,
      log: options.log,
      registration: () => this.#registration(),
    });
    this.sessions = { ...SESSION_DEFAULTS, ...options.sessions };
    this.#loginCache = new LoginCache({ ttlMs: this.sessions.loginCacheSeconds * 1000 });
    this.areaSync = new AreaSync({
      link: this.link,
      stager: this.stager,
      repo: this.repo,
      areas: this.areas,
      log: options.log,
      onRemoved: (customer, paths) => this.endCustomer(customer, { paths: releasesOf(paths), reason: WITHDRAWN }),
    });
    this.logins = new CustomerLogins({
      link: this.link,
      stager: this.stager,
      areaSync: this.areaSync,
      areas: this.areas,
      defender: new Defender({
        threshold: this.sessions.defenderThreshold,
        observationMs: this.sessions.defenderObservationSeconds * 1000,
        banMs: this.sessions.defenderBanSeconds * 1000,
        banIncrementPercent: this.sessions.defenderBanIncrementPercent,
      }),
      limits: new SessionLimits({
        maxPerCustomer: this.sessions.maxSessionsPerCustomer,
        maxPerAddress: this.sessions.maxSessionsPerAddress,
        maxUnauthenticated: this.sessions.maxUnauthenticatedConnections,
      }),
      cache: this.#loginCache,
      log: options.log,
    });
    this.audit = new AuditReporter({
      link: this.link,
      batchSize: options.auditBatchSize,
      flushMs: options.auditFlushMs,
      journal: parts.journal?.journal,
      left: parts.journal?.left,
      log: options.log,
    });
    const cutoffs = this.cutoffs;
    this.#http = new DownloadWorkers({
      count: options.httpWorkers === 0 ? availableParallelism() : options.httpWorkers,
      host: options.host,
      port: options.httpPort,
      settings: {
        areasDir: options.areasDir,
        ticketPublicKeyPem: options.ticketPublicKeyPem,
        ticketCacheEntries: options.ticketCacheEntries,
        openFileCacheMs: options.openFileCacheMs,
        transferIdleMs: this.sessions.transferIdleSeconds * 1000,
        outcomeFlushMs: Math.min(100, options.auditFlushMs),
        // Read when a worker starts (a replaced one gets the cut-offs of now); changes are broadcast.
        get cutoffs() {
          return cutoffs.snapshot();
        },
      },
      digestOf: (path, stats) => this.repo.digestOf(path, stats),
      onOutcome: (outcome) => this.#report(outcome),
      log: options.log,
    });
    this.changeFeed = new ChangeFeed({
      link: this.link,
      stateFile: parts.stateFile,
      startAfter: parts.state?.seq,
      waitMs: options.feedWaitMs,
      log: options.log,
      target: new FeedApplier({
        logins: this.#loginCache,
        areas: this.areaSync,
        cutoffs: this.cutoffs,
        liveCustomers: () => Object.keys(this.logins.limits.counts().customers),
        endCustomer: (customer) => this.endCustomer(customer),
        cutoffsChanged: () => this.#http.cutoffs(this.cutoffs.snapshot()),
        dropCaches: () => this.#http.invalidateAll(),
        cutoffKeepMs: (options.ticketMaxLifetimeSeconds ?? 86_400) * 1000,
        log: options.log,
      }),
    });
  }

  /** A transfer's outcome, in this process or a worker: counted, then audited. */
  #report(outcome: TransferOutcome): void {
    this.metrics.transfer(outcome);
    this.audit.report(outcome);
  }

  static async start(options: FileHostOptions): Promise<FileHostService> {
    for (const dir of [options.repositoryDir, options.areasDir, options.inboxDir]) await mkdir(dir, { recursive: true, mode: 0o755 });
    const hashPool = new HashPool();
    let service: FileHostService | undefined;
    try {
      const repo = await Repository.open(options.repositoryDir, hashPool, options.log, options.name);
      const linkable = await checkLinkable(repo.tmpDir, options.areasDir, options.allowCrossDevice);
      if (!linkable)
        options.log.warn('repository and areas are on different filesystems: staging will copy', {
          repository: options.repositoryDir,
          areas: options.areasDir,
        });
      const journal =
        options.auditJournalDir === undefined ? undefined : await AuditJournal.open(join(options.auditJournalDir, `${options.name}.jsonl`), options.log);
      const stateFile = new FeedStateFile(options.feedStateDir === undefined ? undefined : join(options.feedStateDir, `${options.name}.json`), options.log);
      const state = await stateFile.read();
      service = new FileHostService(options, { hashPool, repo, linkable, journal, stateFile, state });
      service.#httpAddress = await service.#http.start();
      const { address, port } = service.#httpAddress;
      service.#httpUrl = options.publicHttpUrl || `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
      options.log.info('file host listening', { name: options.name, http: service.#httpUrl, repository: options.repositoryDir, objects: repo.digests.size });
      if (options.sftp) {
        const s = service.sessions;
        const outcomes = { report: (outcome: TransferOutcome) => service!.#report(outcome) };
        const common = {
          ...service.#timeouts(),
          maxUnauthenticated: s.maxUnauthenticatedConnections,
          maxAuthAttempts: s.sftpMaxAuthAttempts,
          maxHandles: s.sftpMaxHandles,
        };
        service.#sftp = options.sftp.workers
          ? new SftpWorkers({
              count: options.sftp.workers,
              host: options.host,
              port: options.sftp.port,
              settings: {
                ...common,
                hostKey: options.sftp.hostKey.toString(),
                areasDir: options.areasDir,
                outcomeFlushMs: Math.min(100, options.auditFlushMs),
              },
              logins: service.logins,
              checksums: service.checksums,
              onOutcome: outcomes.report,
              log: options.log,
            })
          : new SftpServer({
              host: options.host,
              port: options.sftp.port,
              hostKey: options.sftp.hostKey,
              ...common,
              logins: service.logins,
              checksums: service.checksums,
              outcomes,
              live: service.live,
              log: options.log,
            });
        const sftp = await service.#sftp.start();
        options.log.info('sftp listening', { address: `${sftp.address}:${sftp.port}`, workers: options.sftp.workers ?? 0 });
      }
      if (options.ftp) {
        const outcomes = { report: (outcome: TransferOutcome) => service!.#report(outcome) };
        service.#ftp = new FtpServer({
          host: options.host,
          ...options.ftp,
          ...service.#timeouts(),
          logins: service.logins,
          checksums: service.checksums,
          outcomes,
          live: service.live,
          log: options.log,
        });
        const ftp = await service.#ftp.start();
        options.log.info('ftp listening', {
          address: `${ftp.address}:${ftp.port}`,
          passive: `${options.ftp.passivePortMin}-${options.ftp.passivePortMax}`,
          tls: Boolean(options.ftp.tls),
        });
      }
      if (options.ops) {
        service.#ops = new OpsListener({ ...options.ops, metrics: service.metrics, webLinked: () => service!.link.connected, log: options.log });
        const ops = await service.#ops.start();
        options.log.info('file host operations listening', {
          url: `http://${ops.address.includes(':') ? `[${ops.address}]` : ops.address}:${ops.port}/metrics`,
        });
      }
      const connected = await service.link.start(options.webWaitMs ?? 5000);
      if (!connected) options.log.warn('the web host is not reachable yet; still dialling', { web: `${options.web.host}:${options.web.port}` });
      if (options.followChanges !== false) service.changeFeed.start();
      return service;
    } catch (err) {
      if (service) await service.close(0);
      else await hashPool.close();
      throw err;
    }
  }

  /** What the web host is told at each (re)connection: name, and where customers reach this host. */
  /** The session timeouts of FTP and SFTP, in ms (the settings are in seconds). */
  #timeouts(): { loginTimeoutMs: number; idleTimeoutMs: number; transferIdleMs: number } {
    const s = this.sessions;
    return { loginTimeoutMs: s.loginTimeoutSeconds * 1000, idleTimeoutMs: s.idleTimeoutSeconds * 1000, transferIdleMs: s.transferIdleSeconds * 1000 };
  }

  /**
   * A customer's access ended (it was disabled): its FTP and SFTP connections are closed (FTP 421,
   * SSH disconnect with the reason) and its downloads in progress cut off, each audited as aborted;
   * its logins are forgotten. With `paths` (prefixes: releases the customer has just lost), only
   * the transfers of those files are cut off (FTP 426, SFTP READs fail, HTTP bodies end); the
   * sessions stay.
   */
  endCustomer(customer: string, options: EndOptions = {}): void {
    if (options.paths?.length === 0) return;
    if (!options.paths) this.#loginCache.invalidate(customer);
    this.#ftp?.endCustomer(customer, options);
    this.#sftp?.endCustomer(customer, options);
    this.#http.endCustomer(customer, options);
    if (options.paths) this.#log.info('transfers of withdrawn releases cut off', { customer, paths: options.paths });
    else this.#log.info('customer access ended: sessions and downloads closed', { customer });
  }

  /** The live FTP and SFTP sessions and HTTP downloads: this process's, and its workers' (a worker that does not answer within a second is left out). */
  async liveSessions(): Promise<LiveSession[]> {
    const [sftp, http] = await Promise.all([this.#sftp instanceof SftpWorkers ? this.#sftp.liveSessions() : [], this.#http.liveSessions()]);
    return [...this.live.list(), ...sftp, ...http];
  }

  /** Ends one live session (FTP 421, SSH disconnect, HTTP cut); false when there is none of that id. */
  async endSession(id: string, reason: string): Promise<boolean> {
    if (this.live.end(id, reason)) return true;
    if (id.startsWith('sftp-') && this.#sftp instanceof SftpWorkers) return this.#sftp.endSession(id, reason);
    if (id.startsWith('http-')) return this.#http.endSession(id, reason);
    return false;
  }

  #registration(): RequestIn<typeof fileHostRegister> {
    const body: RequestIn<typeof fileHostRegister> = { name: this.name, httpUrl: this.#httpUrl };
    const host = new URL(this.#httpUrl).host.replace(/:\d+$/, '');
    if (this.#ftp?.address) body.ftpUrl = `ftp://${host}:${this.#ftp.address.port}`;
    if (this.#sftp?.address) body.sftpUrl = `sftp://${host}:${this.#sftp.address.port}`;
    return body;
  }

  /** Process ids of the SFTP workers now running (none when SFTP runs in this process). */
  get sftpWorkerPids(): number[] {
    return this.#sftp instanceof SftpWorkers ? this.#sftp.pids : [];
  }

  /** The FTP server's control address, when it runs. */
  get ftpAddress(): AddressInfo | undefined {
    return this.#ftp?.address;
  }

  /** The SFTP server's address, when it runs. */
  get sftpAddress(): AddressInfo | undefined {
    return this.#sftp?.address;
  }

  get httpAddress(): AddressInfo {
    return this.#httpAddress!;
  }

  /** The operations listener's address (/metrics, /healthz), when it runs. */
  get opsAddress(): AddressInfo | undefined {
    return this.#ops?.address;
  }

  /** The base URL of HTTP downloads (`…/files/<path>?ticket=…`). */
  get httpUrl(): string {
    return this.#httpUrl;
  }

  /** Process ids of the HTTP download workers now running. */
  get httpWorkerPids(): number[] {
    return this.#http.pids;
  }

  /**
   * Stops serving downloads (those in progress get graceMs), then sends every transfer outcome to
   * the audit, then closes the link. Safe to call more than once.
   */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    const feedStopped = this.changeFeed.close(); // its long wait ends when the link closes
    await this.#ftp?.close(graceMs);
    await this.#sftp?.close(graceMs);
    await this.#http.close(graceMs);
    await this.audit.close(graceMs);
    await this.link.close(graceMs);
    await feedStopped;
    await this.#hashPool.close();
    await this.#ops?.close();
    this.metrics.close();
    this.logins.defender.close();
    this.#log.info('file host closed', { name: this.name });
  }
}

/** What a client is told when a transfer is cut off because the customer lost the release. */
const WITHDRAWN = 'release withdrawn: you may no longer download it';

/** The release folders (`/product/version/`) of area paths. */
function releasesOf(paths: readonly string[]): string[] {
  return [...new Set(paths.map((p) => p.slice(0, p.indexOf('/', p.indexOf('/', 1) + 1) + 1)))];
}
