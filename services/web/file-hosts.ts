import { EventEmitter } from 'node:events';
import type { Body, Peer, RequestOptions } from '../../lib/commlink/index.js';
import { CommlinkError, RemoteError } from '../../lib/commlink/index.js';
import { LINK_CODES, WebErrors } from './errors.js';

export interface FileHostEntry {
  readonly name: string;
  /** Base URL of its HTTP downloads. */
  readonly httpUrl: string;
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

  /**
   * Registers a file host. A name already held by a live connection from another address is
   * refused (two hosts configured with one name would otherwise take turns); from the same address
   * it is the host reconnecting before its old connection was seen dead, and replaces it.
   */
  register(peer: Peer, name: string, httpUrl: string): FileHostEntry {
    const previous = this.#hosts.get(name);
    if (previous && previous.peer !== peer && !previous.peer.closed) {
      if (previous.peer.remoteAddress !== peer.remoteAddress) {
        throw WebErrors.CONFLICT(`file host name ${name} is in use by ${previous.peer.remoteAddress}; give each file host its own services.ftp.name`, { field: 'name' });
      }
      previous.peer.close(1000).catch(() => {});
    }
    const entry: FileHostEntry = { name, httpUrl, peer, since: new Date() };
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
    try {
      return await entry.peer.request(op, body, { timeoutMs: 60_000, ...options });
    } catch (err) {
      if (err instanceof RemoteError && !LINK_CODES.has(err.code)) throw err;
      if (err instanceof CommlinkError) throw WebErrors.GATEWAY_UNAVAILABLE(`${op}: file host ${entry.name} did not answer (${err.code})`, { cause: err.code, host: entry.name });
      throw err;
    }
  }
}
