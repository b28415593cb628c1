import { EventEmitter } from 'node:events';
import type { Body, Peer, RequestOptions } from '../../lib/commlink/index.js';
import { askPeer, type ObserveRequest } from './ask-peer.js';
import { WebErrors } from './errors.js';

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
 * URL); it leaves when its connection closes (its heartbeat stops). The web host sends it orders
 * (stage, ingest …) over that same connection.
 *
 * Events: 'registered' (entry), 'left' (entry).
 */
export class FileHostRegistry extends EventEmitter {
  readonly #hosts = new Map<string, FileHostEntry>();
  /** Told each request's round trip (metrics). */
  observe: ObserveRequest | undefined;

  /**
   * Registers a file host. A name already held by a live connection from another address is
   * refused (two hosts configured with one name would otherwise take turns); from the same address
   * it is the host reconnecting before its old connection was seen dead, and replaces it.
   */
  register(peer: Peer, name: string, urls: { httpUrl: string; ftpUrl?: string | undefined; sftpUrl?: string | undefined }): FileHostEntry {
    const previous = this.#hosts.get(name);
    if (previous && previous.peer !== peer && !previous.peer.closed) {
      if (previous.peer.remoteAddress !== peer.remoteAddress) {
        throw WebErrors.CONFLICT(`file host name ${name} is in use by ${previous.peer.remoteAddress}; give each file host its own services.ftp.name`, { field: 'name' });
      }
      previous.peer.close(1000).catch(() => {});
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

  /** The named file host, or (no name) the longest-connected one. */
  pick(name?: string): FileHostEntry {
    const entry = name === undefined ? [...this.#hosts.values()].sort((a, b) => a.since.getTime() - b.since.getTime())[0] : this.#hosts.get(name);
    if (!entry || entry.peer.closed) throw WebErrors.NO_FILE_HOST(name === undefined ? 'no file host is connected' : `file host ${name} is not connected`, { host: name ?? null });
    return entry;
  }

  /** Asks a file host; its own errors pass through, a broken link is ERR_GATEWAY_UNAVAILABLE. */
  async request(entry: FileHostEntry, op: string, body: Body, options: RequestOptions = {}): Promise<Body> {
    return askPeer(op, `file host ${entry.name}`, () => entry.peer.request(op, body, { timeoutMs: 60_000, ...options }), this.observe, { host: entry.name });
  }
}
