import { EventEmitter } from 'node:events';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import type { RequestOptions } from '../../../lib/commlink/index.js';
import type { Operation, ReplyOut, RequestIn } from '../../../lib/contracts/operation.js';
import { WebErrors } from '../errors.js';
import type { FileHostInfo, FileHostsView } from '../file-hosts-view.js';
import type { IpcCalls } from './ipc-calls.js';
import type { UploadSocketSettings, WireFileHost, WorkerNotice } from './wire.js';

const IPC_SLACK_MS = 2000;

interface Entry extends FileHostInfo {
  readonly peer: { closed: boolean; readonly remoteAddress: string };
}

/**
 * A worker's view of the file hosts: the primary's registry, mirrored (the primary pushes it
 * whole on each registration and leave), and asked through the primary. An upload's bytes go over
 * the primary's upload socket (a Unix socket), never through the IPC channel: the worker connects,
 * names the upload and the primary's secret on one line, then sends the raw bytes with the
 * socket's own back-pressure; it tells the primary over IPC when all were sent (with their count)
 * or that the upload failed, so a cut client never ends as a short object.
 *
 * Events: 'registered' (entry), 'left' (entry).
 */
export class WorkerFileHosts extends EventEmitter implements FileHostsView {
  readonly #calls: IpcCalls;
  readonly #notify: (notice: WorkerNotice) => void;
  readonly #upload: UploadSocketSettings;
  readonly #workerId: number;
  /** By name, in registration order (the primary's order). */
  #hosts = new Map<string, Entry>();
  #uploads = 0;
  /** Uploads in progress: stopping one ends its socket (the primary has what it needs, or failed). */
  readonly #sending = new Map<string, () => void>();

  constructor(options: { calls: IpcCalls; notify: (notice: WorkerNotice) => void; upload: UploadSocketSettings; workerId: number }) {
    super();
    this.#calls = options.calls;
    this.#notify = options.notify;
    this.#upload = options.upload;
    this.#workerId = options.workerId;
  }

  /** The primary's registry now: entries that left are told 'left', new ones 'registered'. */
  update(hosts: readonly WireFileHost[]): void {
    const next = new Map<string, Entry>();
    for (const h of hosts) {
      const kept = this.#hosts.get(h.name);
      const same = kept && kept.since.getTime() === h.since.getTime() && kept.httpUrl === h.httpUrl;
      next.set(
        h.name,
        same
          ? kept
          : { name: h.name, httpUrl: h.httpUrl, ftpUrl: h.ftpUrl, sftpUrl: h.sftpUrl, since: h.since, peer: { closed: false, remoteAddress: h.remoteAddress } },
      );
    }
    const previous = this.#hosts;
    this.#hosts = next;
    for (const [name, entry] of previous) {
      if (next.get(name) === entry) continue;
      entry.peer.closed = true;
      this.emit('left', entry);
    }
    for (const [name, entry] of next) if (previous.get(name) !== entry) this.emit('registered', entry);
  }

  has(name: string): boolean {
    return this.#hosts.has(name);
  }

  list(): FileHostInfo[] {
    return [...this.#hosts.values()];
  }

  pick(name?: string, except?: ReadonlySet<string>): FileHostInfo {
    const entry = name !== undefined ? this.#hosts.get(name) : [...this.#hosts.values()].find((e) => !except?.has(e.name));
    if (!entry) throw WebErrors.NO_FILE_HOST(name === undefined ? 'no file host is connected' : `file host ${name} is not connected`, { host: name ?? null });
    return entry;
  }

  ask<O extends Operation>(entry: FileHostInfo, operation: O, body: RequestIn<O>, options: RequestOptions = {}): Promise<ReplyOut<O>> {
    const timeoutMs = options.timeoutMs ?? 60_000;
    const args = { host: entry.name, op: operation.name, body, timeoutMs };
    if (!options.stream) return this.#calls.call<ReplyOut<O>>('fileHost.ask', args, timeoutMs + IPC_SLACK_MS);
    return this.#askWithStream<O>(args, options.stream, timeoutMs);
  }

  /** Stops sending an upload (the primary said so). */
  stop(upload: string): void {
    this.#sending.get(upload)?.();
  }

  async #askWithStream<O extends Operation>(args: Record<string, unknown>, source: Readable, timeoutMs: number): Promise<ReplyOut<O>> {
    const upload = `${this.#workerId}.${++this.#uploads}`;
    const reply = this.#calls.call<ReplyOut<O>>('fileHost.ask', { ...args, upload }, timeoutMs + IPC_SLACK_MS);
    const socket = connect(this.#upload.path);
    socket.write(`${upload} ${this.#upload.secret}\n`);
    let bytes = 0;
    let done = false;
    const finish = (notice: WorkerNotice | undefined) => {
      if (done) return;
      done = true;
      this.#sending.delete(upload);
      source.off('data', count);
      source.unpipe(socket);
      if (notice) this.#notify(notice);
      else socket.destroy();
    };
    const count = (chunk: Buffer) => (bytes += chunk.length);
    // Not pipeline(): when the primary stops the upload early (the file host refused it), the
    // request's body must stay whole for the answer, as in one process; only the socket ends.
    source.on('data', count);
    const abort = (reason: string) => {
      finish({ type: 'upload.abort', upload, reason });
      socket.destroy();
    };
    source.once('error', (err: Error) => abort(err.message));
    source.once('close', () => {
      if (!source.readableEnded) abort('the upload was cut off');
    });
    socket.once('error', (err: Error) => abort(`the upload socket failed: ${err.message}`));
    socket.once('finish', () => finish({ type: 'upload.end', upload, bytes }));
    this.#sending.set(upload, () => finish(undefined));
    source.pipe(socket);
    try {
      return await reply;
    } finally {
      finish(undefined);
    }
  }
}
