import { EventEmitter } from 'node:events';
import type { Peer, RequestOptions } from '../../lib/commlink/index.js';
import { ask, type ObserveRequest } from '../../lib/contracts/ask.js';
import type { Operation, ReplyOut, RequestIn } from '../../lib/contracts/operation.js';
import type { fileHostRegister } from '../../lib/contracts/web-gateway.js';
import { WebErrors } from './errors.js';
import type { FileHostsView } from './file-hosts-view.js';

export interface FileHostEntry {
  readonly name: string;
  /** Base URL of its HTTP downloads. */
  readonly httpUrl: string;
  /** `ftp://host:port` of its FTP server, when it runs one. */
  readonly ftpUrl: string | undefined;
  /** `sftp://host:port` of its SFTP server, when it runs one. */
  readonly sftpUrl: string | undefined;
  readonly peer: Peer;
  readonly since: Date;
}

/**
 * The file hosts connected to this web host. A file host dials in and registers (name, download
 * URL); it leaves when its connection closes: the host closed it, its process died (the socket
 * closes), or it fell silent past the heartbeat timeout (a frozen process or a cut network keeps the
 * socket open; the commlink's heartbeat closes it). The web host sends it orders (stage, ingest …)
 * over that same connection.
 *
 * Invariant: `pick` and `has` only ever name a host whose connection is open; an entry leaves the
 * registry (and 'left' is emitted, once) as soon as its connection closes or a new registration of
 * the same name replaces it.
 *
 * Events: 'registered' (entry), 'left' (entry).
 */
export class FileHostRegistry extends EventEmitter implements FileHostsView {
  readonly #hosts = new Map<string, FileHostEntry>();
  /** Told each request's round trip (metrics). */
  observe: ObserveRequest | undefined;

  /**
   * Registers a file host. A name already held by a live connection from another address is
   * refused (two hosts configured with one name would otherwise take turns); from the same address
   * it is the host reconnecting before its old connection was seen dead, and replaces it.
   */
  register(peer: Peer, name: string, urls: Omit<RequestIn<typeof fileHostRegister>, 'name'>): FileHostEntry {
    const previous = this.#hosts.get(name);
    if (previous && previous.peer !== peer && !previous.peer.closed) {
      if (previous.peer.remoteAddress !== peer.remoteAddress) {
        throw WebErrors.CONFLICT(`file host name ${name} is in use by ${previous.peer.remoteAddress}; give each file host its own services.ftp.name`, {
          field: 'name',
        });
      }
      previous.peer.close(1000).catch(() => {});
    }
    if (previous) {
      // What was staged and signed for the old registration (its URLs) must not outlive it.
      this.#hosts.delete(name);
      this.emit('left', previous);
    }
    const entry: FileHostEntry = { name, httpUrl: urls.httpUrl, ftpUrl: urls.ftpUrl, sftpUrl: urls.sftpUrl, peer, since: new Date() };
    this.#hosts.set(name, entry);
    peer.once('close', () => {
      if (this.#hosts.get(name) === entry) {
        this.#hosts.delete(name);
        this.emit('left', entry);
      }
    });
    this.emit('registered', entry);
    return entry;
  }

  /** True when a file host of that name is connected. */
  has(name: string): boolean {
    const entry = this.#hosts.get(name);
    return entry !== undefined && !entry.peer.closed;
  }

  list(): FileHostEntry[] {
    return [...this.#hosts.values()];
  }

  /**
   * The named file host, or (no name) the longest-connected one not in `except` (hosts that just
   * failed a request): a host stays picked while it lives, so a customer's stagings stay on one
   * host, and the survivor takes over when it leaves. The map holds hosts in registration order (a
   * re-registration moves to the end), so the first live one is the longest-connected.
   */
  pick(name?: string, except?: ReadonlySet<string>): FileHostEntry {
    const live = (e: FileHostEntry | undefined): e is FileHostEntry => e !== undefined && !e.peer.closed;
    let entry: FileHostEntry | undefined;
    if (name !== undefined) entry = this.#hosts.get(name);
    else entry = [...this.#hosts.values()].find((e) => live(e) && !except?.has(e.name));
    if (!live(entry))
      throw WebErrors.NO_FILE_HOST(name === undefined ? 'no file host is connected' : `file host ${name} is not connected`, { host: name ?? null });
    return entry;
  }

  /** Asks a file host by contract; its own errors pass through, a request that does not get through is ERR_GATEWAY_UNAVAILABLE. */
  async ask<O extends Operation>(entry: FileHostEntry, operation: O, body: RequestIn<O>, options: RequestOptions = {}): Promise<ReplyOut<O>> {
    return ask(entry.peer, operation, body, {
      timeoutMs: 60_000,
      ...options,
      who: `file host ${entry.name}`,
      observe: this.observe,
      details: { host: entry.name },
    });
  }
}
