import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { CommlinkServer, type CommlinkOptions, type KeyBag } from '../../lib/commlink/index.js';
import { CONFIG_DEFAULTS, pickFields } from '../../lib/config/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { changesNext } from '../../lib/contracts/internal-db/changes.js';
import { CryptoPool } from '../../lib/crypto-pool/index.js';
import { PooledTicketSigner, TicketSigner, type TicketSigning } from '../../lib/tickets/index.js';
import { ChangeFeed } from './change-feed.js';
import { FileHostRegistry } from './file-hosts.js';
import { createFrontEnd, type FrontEndSettings } from './front-end.js';
import { Fulfillment } from './fulfillment.js';
import { gatewayHandlers } from './gateway.js';
import { createWebApp } from './http/app.js';
import { HttpsRedirectServer } from './http/redirect.js';
import { WebHttpServer, type WebTlsFiles } from './http/server.js';
import { InternalDbLink, type InternalDbLinkOptions } from './internal-db-link.js';
import { opsRouter } from './ops/health.js';
import { WebMetrics } from './ops/metrics.js';
import { LoginLimiter } from './portal/rate-limit.js';
import { WebhookDeliverer } from './webhooks/deliverer.js';
import { WEBHOOK_DEFAULTS, type WebhookSettings } from './webhooks/settings.js';
import { WebWorkers } from './workers/primary.js';

/** The HTTP front end's settings (the configuration's services.web fields): what the app reads, and the listeners'. */
export interface WebHttpSettings extends FrontEndSettings {
  port: number;
  /** The operations listener (/metrics, /healthz, /readyz): loopback by default; 0: any free port. */
  opsHost: string;
  opsPort: number;
  /** Base URL people use (empty: http://host:port). */
  publicUrl: string;
  /** Strict-Transport-Security max-age on HTTPS answers, in seconds (0: none). */
  hstsSeconds: number;
  /** With HTTPS: a plain-HTTP listener on this port that only redirects to it (-1: none; 0: any free port). */
  httpRedirectPort: number;
}

/** The services.web fields that are the HTTP front end's settings. */
export const HTTP_SETTING_FIELDS = [
  'port',
  'opsHost',
  'opsPort',
  'publicUrl',
  'sessionMinutes',
  'secureCookies',
  'trustProxy',
  'loginFailuresPerAddress',
  'loginFailuresPerLogin',
  'loginMaxDelayMs',
  'loginWindowSeconds',
  'apiTokenCacheSeconds',
  'sessionCheckCacheSeconds',
  'maxJsonBytes',
  'maxJsonDepth',
  'maxUploadBytes',
  'checkApiResponses',
  'hstsSeconds',
  'httpRedirectPort',
] as const satisfies readonly (keyof WebHttpSettings)[];

/** The configuration's defaults (lib/config/schema.ts is the one place they are set). */
export const HTTP_DEFAULTS: WebHttpSettings = pickFields(CONFIG_DEFAULTS.services.web, HTTP_SETTING_FIELDS);

export interface WebOptions {
  host: string;
  /** Commlink port file hosts dial. */
  commlinkPort: number;
  internalDb: Pick<InternalDbLinkOptions, 'mode' | 'host' | 'port' | 'dialListenHost' | 'dialListenPort'>;
  /** Settings of both commlinks: the listener for file hosts and the internal-db link. */
  commlink: Partial<Omit<CommlinkOptions, 'bag'>>;
  /**
   * The key bag of each link (PROTOCOL.md §2): the web host holds both; a file host holds only
   * `fileHosts`, the internal-db only `internalDb`, so neither can open the other's link.
   */
  bags: { readonly fileHosts: KeyBag; readonly internalDb: KeyBag };
  ticketPrivateKeyPem: string;
  ticketTtlSeconds: number;
  /** Signs tickets some other way; default: per `crypto`, in the pool or in this thread. */
  signer?: TicketSigning;
  /**
   * What runs in the crypto pool (lib/crypto-pool): ticket signing, commlink chunk sealing and
   * opening. Absent or nothing on: no pool.
   */
  crypto?: { threads: number; ticketSigning: boolean; chunkCrypto: boolean };
  /** The portal and the REST API; absent: the gateway only (no HTTP listener). */
  http?: Partial<WebHttpSettings> & {
    sessionKeys: readonly string[];
    /**
     * Processes serving the HTTP port (services.web.workers): 1 or absent: this one; 0: one per
     * core; N ≥ 2: N worker processes, given this object as it is (every field, known or not).
     */
    workers?: number;
    /** HTTPS on the HTTP port (HTTP/2 and HTTP/1.1 by ALPN): the certificate chain and key, PEM; absent: plain HTTP. */
    tls?: WebTlsFiles;
  };
  /** Webhook registration rules and delivery (services.web.webhooks); absent: the defaults. */
  webhooks?: Partial<WebhookSettings>;
  log: Logger;
}

/**
 * The web host: the portal and the REST API (koa), the gateway between file hosts and the
 * internal-db, and the fulfilment orchestration (staging, signed download URLs, uploads).
 */
export class WebService {
  readonly db: InternalDbLink;
  readonly fileHosts = new FileHostRegistry();
  readonly fulfillment: Fulfillment;
  readonly metrics = new WebMetrics();
  /** Delivers webhook events (absent when services.web.webhooks.deliver is off). */
  readonly webhooks: WebhookDeliverer | undefined;
  /** The internal-db's change log, followed: every cache here drops what a change makes stale. */
  readonly changes: ChangeFeed;
  readonly #commlink: CommlinkServer;
  readonly #pool: CryptoPool | undefined;
  readonly #http: WebHttpServer | undefined;
  /** The worker processes serving the HTTP port (services.web.workers ≥ 2). */
  #workers: WebWorkers | undefined;
  #workerCount = 1;
  readonly #ops: WebHttpServer | undefined;
  readonly #redirect: HttpsRedirectServer | undefined;
  /** The HTTP port serves HTTPS (options.http.tls). */
  readonly #secure: boolean;
  readonly #settings: WebHttpSettings;
  readonly #host: string;
  readonly #log: Logger;
  #address: AddressInfo | undefined;
  #closing: Promise<void> | undefined;

  private constructor(options: WebOptions) {
    this.#log = options.log;
    this.#host = options.host;
    this.#settings = { ...HTTP_DEFAULTS, ...options.http };
    this.#secure = options.http?.tls !== undefined;
    const webhookSettings = { ...WEBHOOK_DEFAULTS, ...options.webhooks };
    const crypto = options.crypto;
    if (crypto && (crypto.ticketSigning || crypto.chunkCrypto)) this.#pool = new CryptoPool(crypto.threads > 0 ? { maxThreads: crypto.threads } : {});
    const commlink = this.#pool && crypto?.chunkCrypto ? { ...options.commlink, chunkCrypto: this.#pool } : options.commlink;
    this.db = new InternalDbLink({
      ...options.internalDb,
      commlink: { ...commlink, bag: options.bags.internalDb },
      log: options.log,
      // changes.next waits for a change by design: its wait is no latency.
      observe: (op, seconds, outcome) => {
        if (op !== changesNext.name) this.metrics.commlink('internal-db', op, seconds, outcome);
      },
    });
    this.changes = new ChangeFeed({ db: this.db, log: options.log, metrics: this.metrics });
    if (webhookSettings.deliver) {
      const webhooks = new WebhookDeliverer({ db: this.db, settings: webhookSettings, log: options.log, followChanges: false });
      this.webhooks = webhooks;
      // The web host's own subscription wakes the deliverer: no second changes.next loop.
      this.changes.listen({ change: () => webhooks.notify(), reset: () => webhooks.notify() });
    }
    this.fileHosts.observe = (op, seconds, outcome) => this.metrics.commlink('file-host', op, seconds, outcome);
    this.fulfillment = new Fulfillment({
      db: this.db,
      fileHosts: this.fileHosts,
      signer:
        options.signer ??
        (this.#pool && crypto?.ticketSigning ? new PooledTicketSigner(this.#pool, options.ticketPrivateKeyPem) : new TicketSigner(options.ticketPrivateKeyPem)),
      ticketTtlSeconds: options.ticketTtlSeconds,
      metrics: this.metrics,
      log: options.log,
      feedLive: () => this.changes.live,
    });
    this.changes.listen(this.fulfillment.listener);
    this.#commlink = new CommlinkServer({
      ...commlink,
      bag: options.bags.fileHosts,
      handlers: gatewayHandlers(this.db, this.fileHosts),
      log: options.log.child({ link: 'file-hosts' }),
    });
    this.fileHosts.on('registered', (e: { name: string; httpUrl: string }) => options.log.info('file host registered', { name: e.name, httpUrl: e.httpUrl }));
    this.fileHosts.on('left', (e: { name: string }) => options.log.warn('file host left', { name: e.name }));
    this.db.on('up', () => options.log.info('internal-db connected', { mode: options.internalDb.mode }));
    this.db.on('down', () => options.log.warn('internal-db disconnected', { mode: options.internalDb.mode }));
    if (options.http) {
      const s = this.#settings;
      const log = options.log;
      const workers = options.http.workers ?? 1;
      this.#workerCount = workers === 0 ? availableParallelism() : workers;
      if (this.#workerCount < 2) {
        const { app, front } = createFrontEnd({
          db: this.db,
          fileHosts: this.fileHosts,
          fulfillment: this.fulfillment,
          changes: this.changes,
          metrics: this.metrics,
          log,
          settings: s,
          sessionKeys: options.http.sessionKeys,
          webhooks: webhookSettings,
          httpUrl: () => this.httpUrl,
        });
        // Worker processes build theirs the same way from options.http (workers/worker-main.ts).
        this.#http = new WebHttpServer(app, {
          maxBodyBytes: Math.max(s.maxUploadBytes, s.maxJsonBytes),
          tls: options.http.tls,
          hstsSeconds: s.hstsSeconds,
          front,
        });
      }
      // The redirect listener is the primary's own, whoever serves the HTTPS port.
      if (s.httpRedirectPort >= 0) {
        if (!this.#secure)
          throw new TypeError('options.http.httpRedirectPort needs options.http.tls (it redirects plain HTTP to HTTPS); -1: no redirect listener');
        this.#redirect = new HttpsRedirectServer(() => this.#httpsBase());
      }
      // /metrics only here: on its own listener, loopback by default (it is not for the public).
      // With workers, it sums theirs and the primary's.
      const opsApp = createWebApp({
        log,
        metrics: this.metrics,
        keys: options.http.sessionKeys,
        trustProxy: false,
        routers: [
          opsRouter(this.db, this.fileHosts, this.metrics, {
            metrics: true,
            ...(this.#workerCount >= 2 ? { text: () => this.#workers?.metricsText() ?? this.metrics.text() } : {}),
          }),
        ],
      });
      this.#ops = new WebHttpServer(opsApp, { maxBodyBytes: 0 });
    }
  }

  static async start(options: WebOptions): Promise<WebService> {
    const service = new WebService(options);
    try {
      service.changes.start();
      await service.db.start();
      service.webhooks?.start();
      service.#address = await service.#commlink.listen(options.commlinkPort, options.host);
      options.log.info('web host listening for file hosts', { commlink: `${service.#address.address}:${service.#address.port}` });
      if (service.#http) {
        await service.#http.listen(service.#settings.port, options.host);
      } else if (options.http && service.#workerCount >= 2) {
        service.#workers = await WebWorkers.start({
          count: service.#workerCount,
          host: options.host,
          port: service.#settings.port,
          settings: {
            host: options.host,
            http: options.http,
            ticketPrivateKeyPem: options.ticketPrivateKeyPem,
            ticketTtlSeconds: options.ticketTtlSeconds,
            crypto: options.crypto,
            webhooks: { ...WEBHOOK_DEFAULTS, ...options.webhooks },
          },
          httpUrl: (address) => service.#urlOf(address),
          db: service.db,
          fileHosts: service.fileHosts,
          limiter: new LoginLimiter({
            failuresPerAddress: service.#settings.loginFailuresPerAddress,
            failuresPerLogin: service.#settings.loginFailuresPerLogin,
            maxDelayMs: service.#settings.loginMaxDelayMs,
            windowSeconds: service.#settings.loginWindowSeconds,
          }),
          metrics: service.metrics,
          log: options.log,
        });
      }
      if (options.http) {
        options.log.info('web host serving the portal and the API', { url: service.httpUrl, workers: service.workerPids.length || 1 });
        await service.#ops!.listen(service.#settings.opsPort, service.#settings.opsHost);
        options.log.info('web host serving its metrics', { url: `${service.opsUrl}/metrics` });
        if (service.#redirect) {
          const at = await service.#redirect.listen(service.#settings.httpRedirectPort, options.host);
          options.log.info('web host redirecting plain HTTP to HTTPS', { port: at.port, to: service.#httpsBase() });
        }
      }
    } catch (err) {
      await service.close(0);
      throw err;
    }
    return service;
  }

  /** Where file hosts dial this web host. */
  get commlinkAddress(): AddressInfo {
    return this.#address!;
  }

  /** Where the portal and the API listen (when they run). */
  get httpAddress(): AddressInfo | undefined {
    return this.#http?.address ?? this.#workers?.address;
  }

  /** Process ids of the worker processes serving the HTTP port now (empty: this process serves it, services.web.workers = 1). */
  get workerPids(): number[] {
    return this.#workers?.pids ?? [];
  }

  /** Where the operations listener (/metrics, /healthz, /readyz) listens (when the HTTP front end runs). */
  get opsAddress(): AddressInfo | undefined {
    return this.#ops?.address;
  }

  /** The base URL of the operations listener: http://opsHost:opsPort (empty when it does not run). */
  get opsUrl(): string {
    const address = this.#ops?.address;
    if (!address) return '';
    const host = address.address === '0.0.0.0' ? '127.0.0.1' : address.address === '::' ? '::1' : address.address;
    return `http://${host.includes(':') ? `[${host}]` : host}:${address.port}`;
  }

  /** Where the plain-HTTP redirect listener listens (services.web.httpRedirectPort; undefined when none runs). */
  get redirectAddress(): AddressInfo | undefined {
    return this.#redirect?.address;
  }

  /** The base URL of the portal and the API: the configured public URL, or http(s)://host:port (https when it serves TLS). */
  get httpUrl(): string {
    const address = this.httpAddress;
    if (!address) return this.#settings.publicUrl;
    return this.#urlOf(address);
  }

  #urlOf(address: AddressInfo): string {
    if (this.#settings.publicUrl) return this.#settings.publicUrl;
    const host = address.address.includes(':') ? `[${address.address}]` : address.address;
    return `${this.#secure ? 'https' : 'http'}://${host === '0.0.0.0' || host === '[::]' ? this.#host : host}:${address.port}`;
  }

  /**
   * Where the redirect listener sends clients: an https:// public URL as it is; else https:// on the
   * public URL's host (or the configured host) and the HTTPS port. Never the request's Host header.
   */
  #httpsBase(): string {
    const publicUrl = this.#settings.publicUrl;
    if (publicUrl.startsWith('https://')) return publicUrl;
    const port = this.httpAddress?.port;
    if (!publicUrl) return this.httpUrl;
    return `https://${new URL(publicUrl).hostname}:${String(port)}`;
  }

  /** Stops the HTTP front end (requests in progress get graceMs), then the commlinks. Safe to call twice. */
  close(graceMs = 5000): Promise<void> {
    this.#closing ??= this.#close(graceMs);
    return this.#closing;
  }

  async #close(graceMs: number): Promise<void> {
    await this.#redirect?.close(graceMs);
    await this.#http?.close(graceMs);
    await this.#workers?.close(graceMs);
    await this.#ops?.close(graceMs);
    await this.#commlink.close(graceMs);
    await this.webhooks?.close(graceMs);
    await this.changes.close();
    await this.db.close(graceMs);
    await this.#pool?.close();
    this.metrics.close();
    this.#log.info('web host closed');
  }
}
