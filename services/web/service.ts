import type { AddressInfo } from 'node:net';
import { CommlinkServer, type CommlinkOptions, type KeyBag } from '../../lib/commlink/index.js';
import type { Logger } from '../../lib/log/logger.js';
import { FileHostRegistry } from './file-hosts.js';
import { Fulfillment } from './fulfillment.js';
import { gatewayHandlers } from './gateway.js';
import { InternalDbLink, type InternalDbLinkOptions } from './internal-db-link.js';

export interface WebOptions {
  host: string;
  /** Commlink port file hosts dial. */
  commlinkPort: number;
  internalDb: Pick<InternalDbLinkOptions, 'mode' | 'host' | 'port' | 'dialListenHost' | 'dialListenPort'>;
  commlink: Partial<CommlinkOptions> & { bag: KeyBag };
  ticketPrivateKeyPem: string;
  ticketTtlSeconds: number;
  log: Logger;
}

/**
 * The web host, as far as it is built: the gateway between file hosts and the internal-db, and
 * the fulfilment orchestration (staging, signed download URLs). The portal and the REST API come
 * with the web front end.
 */
export class WebService {
  readonly db: InternalDbLink;
  readonly fileHosts = new FileHostRegistry();
  readonly fulfillment: Fulfillment;
  readonly #commlink: CommlinkServer;
  readonly #log: Logger;
  #address: AddressInfo | undefined;

  private constructor(options: WebOptions) {
    this.#log = options.log;
    this.db = new InternalDbLink({ ...options.internalDb, commlink: options.commlink, log: options.log });
    this.fulfillment = new Fulfillment(this.db, this.fileHosts, options.ticketPrivateKeyPem, options.ticketTtlSeconds);
    this.#commlink = new CommlinkServer({ ...options.commlink, handlers: gatewayHandlers(this.db, this.fileHosts), log: options.log.child({ link: 'file-hosts' }) });
    this.fileHosts.on('registered', (e: { name: string; httpUrl: string }) => options.log.info('file host registered', { name: e.name, httpUrl: e.httpUrl }));
    this.fileHosts.on('left', (e: { name: string }) => options.log.warn('file host left', { name: e.name }));
    this.db.on('up', () => options.log.info('internal-db connected', { mode: options.internalDb.mode }));
    this.db.on('down', () => options.log.warn('internal-db disconnected', { mode: options.internalDb.mode }));
  }

  static async start(options: WebOptions): Promise<WebService> {
    const service = new WebService(options);
    try {
      await service.db.start();
      service.#address = await service.#commlink.listen(options.commlinkPort, options.host);
      options.log.info('web host listening for file hosts', { commlink: `${service.#address.address}:${service.#address.port}` });
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

  async close(graceMs = 5000): Promise<void> {
    await this.#commlink.close(graceMs);
    await this.db.close(graceMs);
    this.#log.info('web host closed');
  }
}
