import type { RequestOptions } from '../../lib/commlink/index.js';
import type { Operation, ReplyOut, RequestIn } from '../../lib/contracts/operation.js';

/** A registered file host as the web code sees it. */
export interface FileHostInfo {
  readonly name: string;
  /** Base URL of its HTTP downloads. */
  readonly httpUrl: string;
  /** `ftp://host:port` of its FTP server, when it runs one. */
  readonly ftpUrl: string | undefined;
  /** `sftp://host:port` of its SFTP server, when it runs one. */
  readonly sftpUrl: string | undefined;
  readonly since: Date;
  /** Its connection: whether it has closed, and the address it dialled from. */
  readonly peer: { readonly closed: boolean; readonly remoteAddress: string };
}

/**
 * What the web code needs of the file hosts: FileHostRegistry is it in the primary (or the one
 * process); a worker process's WorkerFileHosts mirrors the primary's registry and asks through
 * it over IPC (services/web/workers/).
 *
 * Events: 'registered' (entry), 'left' (entry).
 */
export interface FileHostsView {
  /** True when a file host of that name is connected. */
  has(name: string): boolean;
  list(): FileHostInfo[];
  /** The named file host, or the longest-connected one not in `except`; ERR_NO_FILE_HOST when there is none. */
  pick(name?: string, except?: ReadonlySet<string>): FileHostInfo;
  /** Asks a file host by contract; its own errors pass through, a request that does not get through is ERR_GATEWAY_UNAVAILABLE. */
  ask<O extends Operation>(entry: FileHostInfo, operation: O, body: RequestIn<O>, options?: RequestOptions): Promise<ReplyOut<O>>;
  on(event: 'registered' | 'left', listener: (entry: FileHostInfo) => void): this;
  off(event: 'registered' | 'left', listener: (entry: FileHostInfo) => void): this;
}
