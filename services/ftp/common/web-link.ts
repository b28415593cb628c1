import { CommlinkClient, type ClientOptions } from '../../../lib/commlink/index.js';
import { ask, requireConnected } from '../../../lib/contracts/ask.js';
import type { Operation, ReplyOut, RequestIn } from '../../../lib/contracts/operation.js';
import { fileHostRegister } from '../../../lib/contracts/web-gateway.js';
import type { Logger } from '../../../lib/log/logger.js';

const WEB_HOST = 'the web host';

export interface WebLinkOptions extends ClientOptions {
  /** Sent in `filehost.register` each time the link comes up. */
  registration: () => RequestIn<typeof fileHostRegister>;
  log: Logger;
}

/**
 * The file host's one way out: a commlink to the web host, which it dials and keeps up. The same
 * connection carries the web host's orders (stage, ingest …, served by `handlers`) and the file
 * host's questions (auth.check, release.resolve, audit.record), which the web host forwards to
 * the internal-db. The file host registers (name, download URL) whenever the link comes up.
 */
export class WebLink {
  readonly #client: CommlinkClient;
  readonly #log: Logger;

  constructor(options: WebLinkOptions) {
    const { registration, ...client } = options;
    this.#log = options.log;
    this.#client = new CommlinkClient(client);
    this.#client.on('connect', () => {
      ask(this.#client, fileHostRegister, registration(), { who: WEB_HOST, timeoutMs: 10_000 }).then(
        (reply) => this.#log.info('registered with the web host', { web: `${options.host}:${options.port}`, ...reply }),
        (err: Error) => this.#log.error('registration with the web host failed', { err }),
      );
    });
    this.#client.on('disconnect', (err?: Error) => this.#log.warn('lost the web host', { reason: err?.message }));
  }

  /** Starts dialling; resolves once connected or after `timeoutMs` (it keeps dialling either way). */
  async start(timeoutMs: number): Promise<boolean> {
    try {
      await this.#client.connect(timeoutMs);
      return true;
    } catch {
      return false;
    }
  }

  /** Resolves once the link is up (at once when it is); rejects after `timeoutMs` or once closed. */
  async waitConnected(timeoutMs: number): Promise<void> {
    if (this.#client.connected) return;
    await this.#client.connect(timeoutMs);
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  /**
   * Asks the web host (which forwards to the internal-db). Fails at once with
   * ERR_GATEWAY_UNAVAILABLE when the link is down (a login must not hang); a request that does not
   * get through, here or between the web host and the internal-db, is that same error; the
   * internal-db's own answers (ERR_AUTH_REFUSED …) come through with their code.
   */
  async ask<O extends Operation>(operation: O, body: RequestIn<O>, timeoutMs = 10_000): Promise<ReplyOut<O>> {
    requireConnected(this.#client.connected, WEB_HOST, operation);
    return ask(this.#client, operation, body, { who: WEB_HOST, timeoutMs });
  }

  async close(graceMs = 5000): Promise<void> {
    await this.#client.close(graceMs);
  }
}
