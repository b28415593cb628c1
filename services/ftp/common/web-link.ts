import { CommlinkClient, CommlinkError, RemoteError, type Body, type ClientOptions } from '../../../lib/commlink/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import { FileHostErrors } from '../errors.js';

export interface WebLinkOptions extends ClientOptions {
  /** Sent in `filehost.register` each time the link comes up. */
  registration: () => Body;
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
      this.#client.request('filehost.register', registration(), { timeoutMs: 10_000 }).then(
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

  get connected(): boolean {
    return this.#client.connected;
  }

  /**
   * Asks the web host. Fails at once with ERR_GATEWAY_UNAVAILABLE when the link is down (a login
   * must not hang), and turns commlink failures into that same error; errors the internal-db
   * answered (ERR_AUTH_REFUSED …) come through with their own code.
   */
  async request(op: string, body: Body, timeoutMs = 10_000): Promise<Body> {
    if (!this.#client.connected) throw FileHostErrors.GATEWAY_UNAVAILABLE('the web host is not connected');
    try {
      return await this.#client.request(op, body, { timeoutMs });
    } catch (err) {
      // The internal-db's own answers (ERR_AUTH_REFUSED …) pass through; a broken link anywhere on
      // the way (here, or between the web host and the internal-db) is one temporary error.
      if (err instanceof RemoteError && !LINK_CODES.has(err.code)) throw err;
      if (err instanceof CommlinkError) throw FileHostErrors.GATEWAY_UNAVAILABLE(`${op}: the web host or the internal-db cannot be reached now (${err.code})`, { cause: err.code });
      throw err;
    }
  }

  async close(graceMs = 5000): Promise<void> {
    await this.#client.close(graceMs);
  }
}

const LINK_CODES = new Set(['ERR_TIMEOUT', 'ERR_CLOSED', 'ERR_NOT_CONNECTED', 'ERR_TOO_MANY_IN_FLIGHT', 'ERR_UNKNOWN_OPERATION', 'ERR_GATEWAY_UNAVAILABLE']);
