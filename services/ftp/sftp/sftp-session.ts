import { closeSync, readdir, stat } from 'node:fs';
import { promisify } from 'node:util';
import ssh2, { type SFTPWrapper } from 'ssh2';
import type { Socket } from 'node:net';
import type { Logger } from '../../../lib/log/logger.js';
import type { TransferOutcome } from '../common/audit-reporter.js';
import { normalizeVirtualPath, type AreaRoot } from '../common/path-resolver.js';
import { queuedBytes } from '../common/send-file.js';
import { attrsOf, entryOf } from './attrs.js';
import { handleBuffer, readAhead, type DirHandle, type FileHandle } from './file-handles.js';
import { ReplyBacklog } from './reply-backlog.js';
import { sftpStatusOf } from './status.js';

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp;
const statAsync = promisify(stat);
const readdirAsync = promisify(readdir);

/** Largest READ answered (bigger requests get a short read, as the protocol allows). */
const MAX_READ = 256 * 1024;
/** READs being served at once per session; later ones wait their turn (they are only a few bytes each). */
const MAX_READS_IN_FLIGHT = 64;
/** Replies held in ssh2's buffer (the client's window is full) before READs pause: memory stays bounded. */
const MAX_BUFFERED_REPLIES = 16;
/** Queued READ requests allowed while paused; a client past this is not playing fair and is cut off. */
const MAX_QUEUED_READS = 4096;
const WRITE_FLAGS = OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC | OPEN_MODE.EXCL;

/** Open handles, counted for the whole connection (every sftp session of it): at `max`, OPEN and OPENDIR fail. */
export interface HandleBudget {
  open: number;
  readonly max: number;
}

export interface SftpSessionOptions {
  customer: string;
  clientAddress: string;
  root: AreaRoot;
  outcomes: { report(outcome: TransferOutcome): void };
  log: Logger;
  /** Called on every request (the idle timer). */
  onActivity: () => void;
  /** The connection's handle budget (services.ftp.sftpMaxHandles). */
  handles: HandleBudget;
  /** Replies wait for a client that takes no byte for this long (ms): the session ends and `onStall` is called. */
  transferIdleMs: number;
  /** The client stopped reading (the session has ended, its files audited): close the connection. */
  onStall: () => void;
  /** The connection's TCP socket: replies made in one turn of the event loop go out in one write; its queue is what it has not sent. */
  socket?: Socket;
}

/** Status message of an OPEN or OPENDIR past the handle budget. */
export function tooManyHandles(max: number): string {
  return `too many open handles (${max} per connection): close some first`;
}

/**
 * One SFTP session over a customer's area: the read requests real clients send (REALPATH, STAT,
 * LSTAT, FSTAT, OPENDIR, READDIR, OPEN for reading, READ, CLOSE) and the OpenSSH extensions they
 * probe. Writes of every kind are answered PERMISSION_DENIED; anything unknown OP_UNSUPPORTED (by
 * ssh2 for unhandled request types, here for unknown extensions). Every path goes through the
 * area's resolver. Each opened file's outcome is reported when it is closed (or the session ends).
 */
export class SftpSession {
  readonly #sftp: SFTPWrapper;
  readonly #o: SftpSessionOptions;
  readonly #handles = new Map<number, FileHandle | DirHandle>();
  #nextHandle = 1;
  #readsInFlight = 0;
  readonly #readQueue: (() => void)[] = [];
  #pollTimer: NodeJS.Timeout | undefined;
  #ended = false;
  /** Data replies ssh2 holds for the client's window, and whose they are. */
  readonly #backlog: ReplyBacklog;
  #stallTimer: NodeJS.Timeout | undefined;
  #lastProgress = 0;
  #lastTaken = -1;

  constructor(sftp: SFTPWrapper, options: SftpSessionOptions) {
    this.#sftp = sftp;
    this.#o = options;
    this.#backlog = new ReplyBacklog(sftp, 4 * MAX_BUFFERED_REPLIES + MAX_READS_IN_FLIGHT);
    const on = (event: string, handler: (reqid: number, ...args: never[]) => unknown) =>
      sftp.on(event as 'OPEN', (reqid: number, ...args: never[]) => {
        options.onActivity();
        try {
          const result = handler(reqid, ...args);
          if (result instanceof Promise) result.catch((err: unknown) => this.#fail(reqid, err));
        } catch (err) {
          this.#fail(reqid, err);
        }
      });
    on('REALPATH', (reqid, path: string) => this.#realpath(reqid, path));
    on('STAT', (reqid, path: string) => this.#stat(reqid, path));
    on('LSTAT', (reqid, path: string) => this.#stat(reqid, path));
    on('FSTAT', (reqid, handle: Buffer) => this.#fstat(reqid, handle));
    on('OPEN', (reqid, path: string, flags: number) => this.#open(reqid, path, flags));
    on('READ', (reqid, handle: Buffer, offset: number, length: number) => {
      this.#cork();
      this.#queueRead(reqid, handle, offset, length);
    });
    on('CLOSE', (reqid, handle: Buffer) => this.#close(reqid, handle));
    on('OPENDIR', (reqid, path: string) => this.#opendir(reqid, path));
    on('READDIR', (reqid, handle: Buffer) => this.#readdir(reqid, handle));
    on('READLINK', (reqid) => sftp.status(reqid, STATUS_CODE.NO_SUCH_FILE, 'no symbolic links here'));
    for (const write of ['WRITE', 'REMOVE', 'RENAME', 'MKDIR', 'RMDIR', 'SETSTAT', 'FSETSTAT', 'SYMLINK']) {
      on(write, (reqid) => sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'read-only: downloads only'));
    }
    on('EXTENDED', (reqid, name: string) => this.#extended(reqid, name));
    sftp.on('error', (err: Error) => options.log.debug('sftp channel error', { err, customer: options.customer }));
    // The client's EOF ends the session: answer with our close, or OpenSSH's sftp waits forever
    // after `bye` (ssh2 does not close the channel by itself).
    sftp.on('end', () => {
      this.end();
      sftp.end();
    });
    sftp.on('close', () => this.end());
  }

  #corked = false;

  /**
   * Clients keep dozens of READs in flight; the replies made in this turn of the event loop are
   * gathered and written to the socket together (one writev, not one write per 32 KiB packet).
   */
  #cork(): void {
    const socket = this.#o.socket;
    if (!socket || this.#corked || socket.destroyed) return;
    this.#corked = true;
    socket.cork();
    setImmediate(() => {
      this.#corked = false;
      if (!socket.destroyed) socket.uncork();
    });
  }

  /**
   * Ends the session: closes what is open and reports the outcome of each open file. The socket's
   * queue (bytes it has not sent) is taken from the files that sent last.
   */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#stopStallWatch();
    const files = [...this.#handles.values()].filter((h): h is FileHandle => h.kind === 'file').sort((a, b) => b.lastSent - a.lastSent);
    let queued = this.#socketQueued();
    for (const handle of files) queued = this.#finishFile(handle, queued);
    this.#o.handles.open -= this.#handles.size;
    this.#handles.clear();
    this.#backlog.clear();
  }

  #virtual(path: string): string {
    return normalizeVirtualPath(path === '' ? '.' : path, { cwd: '/', clamp: true });
  }

  #realpath(reqid: number, path: string): void {
    const virtual = this.#virtual(path);
    this.#sftp.name(reqid, [{ filename: virtual, longname: virtual, attrs: {} as never }]);
  }

  async #stat(reqid: number, path: string): Promise<void> {
    const real = this.#o.root.realPathOf(this.#virtual(path));
    this.#sftp.attrs(reqid, attrsOf(await statAsync(real)));
  }

  #fstat(reqid: number, raw: Buffer): void {
    const handle = this.#handle(raw);
    if (handle?.kind !== 'file') return this.#sftp.status(reqid, STATUS_CODE.FAILURE, 'not an open file');
    this.#sftp.attrs(reqid, attrsOf(handle.stats));
  }

  #open(reqid: number, path: string, flags: number): void {
    if (flags & WRITE_FLAGS || !(flags & OPEN_MODE.READ)) return this.#sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'read-only: downloads only');
    if (this.#budgetSpent()) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, tooManyHandles(this.#o.handles.max));
    const virtual = this.#virtual(path);
    const opened = this.#o.root.openFile(virtual);
    const id = this.#nextHandle++;
    this.#handles.set(id, {
      kind: 'file',
      fd: opened.fd,
      path: virtual,
      stats: opened.stats,
      bytes: 0,
      lastSent: 0,
      reachedEnd: false,
      started: performance.now(),
      windows: [],
    });
    this.#o.handles.open++;
    this.#startStallWatch();
    this.#sftp.handle(reqid, handleBuffer(id));
  }

  /** The connection holds as many handles as it may (its other sessions count too). */
  #budgetSpent(): boolean {
    return this.#o.handles.open >= this.#o.handles.max;
  }

  #queueRead(reqid: number, raw: Buffer, offset: number, length: number): void {
    const run = () => {
      this.#readsInFlight++;
      this.#read(reqid, raw, offset, length)
        .catch((err: unknown) => this.#fail(reqid, err))
        .finally(() => {
          this.#readsInFlight--;
          this.#pump();
        });
    };
    if (this.#readsInFlight < MAX_READS_IN_FLIGHT && this.#buffered() < MAX_BUFFERED_REPLIES) return run();
    if (this.#readQueue.length >= MAX_QUEUED_READS) {
      this.#o.log.warn('sftp client sends reads without taking the data; closing', { customer: this.#o.customer, clientAddress: this.#o.clientAddress });
      this.#sftp.end();
      return;
    }
    this.#readQueue.push(run);
    // Nothing tells us when ssh2's buffer drains (the client's window opens): look while paused.
    this.#pollTimer ??= setInterval(() => this.#pump(), 5);
  }

  #pump(): void {
    while (this.#readQueue.length > 0 && this.#readsInFlight < MAX_READS_IN_FLIGHT && this.#buffered() < MAX_BUFFERED_REPLIES) this.#readQueue.shift()!();
    if (this.#readQueue.length === 0 && this.#pollTimer) {
      clearInterval(this.#pollTimer);
      this.#pollTimer = undefined;
    }
  }

  /** Replies waiting in ssh2 for the client's window (ssh2 exposes no drain event for SFTP servers). */
  #buffered(): number {
    return this.#backlog.waiting;
  }

  async #read(reqid: number, raw: Buffer, offset: number, length: number): Promise<void> {
    const handle = this.#handle(raw);
    if (handle?.kind !== 'file') return this.#sftp.status(reqid, STATUS_CODE.FAILURE, 'not an open file');
    if (offset >= handle.stats.size) {
      handle.reachedEnd = true;
      return this.#sftp.status(reqid, STATUS_CODE.EOF);
    }
    const wanted = Math.min(length, MAX_READ, handle.stats.size - offset);
    const data = await readAhead(handle, offset, wanted);
    if (this.#ended || !this.#handles.has(raw.readUInt32BE(0))) return;
    if (data.length === 0) {
      handle.reachedEnd = true;
      return this.#sftp.status(reqid, STATUS_CODE.EOF);
    }
    handle.bytes += data.length;
    handle.lastSent = performance.now();
    if (offset + data.length >= handle.stats.size) handle.reachedEnd = true;
    // Held by ssh2 when the client's window is shut: counted out if the transfer ends first.
    this.#backlog.send(reqid, data, handle);
  }

  /** Bytes ssh2 wrote to the socket that the kernel has not taken (0 once the socket is gone: Node no longer says). */
  #socketQueued(): number {
    const socket = this.#o.socket;
    return socket && !socket.destroyed ? queuedBytes(socket) : 0;
  }

  /**
   * Watches for a client that stopped reading: while replies wait (in ssh2 for the window, in the
   * queue of READs, in the socket) and the socket takes no byte for transferIdleMs, the session
   * ends (its files audited as aborted) and the connection is closed. Runs while files are open.
   */
  #startStallWatch(): void {
    if (this.#stallTimer || this.#ended || !this.#o.socket) return; // without the socket, progress cannot be seen
    const idleMs = this.#o.transferIdleMs;
    this.#lastProgress = performance.now();
    this.#lastTaken = -1;
    this.#stallTimer = setInterval(() => this.#checkStall(idleMs), Math.max(50, Math.min(1000, Math.floor(idleMs / 4))));
    this.#stallTimer.unref();
  }

  #stopStallWatch(): void {
    if (this.#stallTimer) clearInterval(this.#stallTimer);
    this.#stallTimer = undefined;
  }

  #checkStall(idleMs: number): void {
    if (![...this.#handles.values()].some((h) => h.kind === 'file')) return this.#stopStallWatch();
    const queued = this.#socketQueued();
    const taken = this.#o.socket!.bytesWritten - queued;
    const now = performance.now();
    const waiting = this.#buffered() > 0 || this.#readQueue.length > 0 || queued > 0;
    if (!waiting || taken !== this.#lastTaken) {
      this.#lastTaken = taken;
      this.#lastProgress = now;
      return;
    }
    if (now - this.#lastProgress < idleMs) return;
    this.#o.log.info('sftp client stopped reading: closing the connection', {
      customer: this.#o.customer,
      clientAddress: this.#o.clientAddress,
      idleSeconds: Math.round(idleMs / 1000),
    });
    this.end();
    this.#o.onStall();
  }

  #close(reqid: number, raw: Buffer): void {
    const id = raw.length === 4 ? raw.readUInt32BE(0) : -1;
    const handle = this.#handles.get(id);
    if (!handle) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, 'no such handle');
    this.#handles.delete(id);
    this.#o.handles.open--;
    if (handle.kind === 'file') this.#finishFile(handle, this.#socketQueued());
    this.#sftp.status(reqid, STATUS_CODE.OK);
  }

  /**
   * Closes a file and reports its outcome: complete when the client was sent the file to its end;
   * otherwise aborted, with the bytes that left: those handed to ssh2, less what ssh2 still holds
   * for the client's window and what the socket has not sent (up to `queued`, the part of the
   * socket's queue not yet put down to another file). Returns what is left of `queued`.
   */
  #finishFile(handle: FileHandle, queued: number): number {
    try {
      closeSync(handle.fd);
    } catch {
      // closed already
    }
    if (handle.bytes === 0 && !handle.reachedEnd) return queued; // opened and never read: not a transfer
    const unsent = this.#backlog.unsentOf(handle);
    const complete = handle.reachedEnd && unsent === 0;
    let bytes = handle.bytes - unsent;
    if (!complete) {
      const notSent = Math.min(queued, bytes);
      bytes -= notSent;
      queued -= notSent;
    }
    this.#o.outcomes.report({
      customer: this.#o.customer,
      path: handle.path,
      protocol: 'sftp',
      clientAddress: this.#o.clientAddress,
      bytes,
      durationMs: Math.round(performance.now() - handle.started),
      outcome: complete ? 'complete' : 'aborted',
    });
    return queued;
  }

  #opendir(reqid: number, path: string): void {
    if (this.#budgetSpent()) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, tooManyHandles(this.#o.handles.max));
    const virtual = this.#virtual(path);
    const realPath = this.#o.root.realPathOf(virtual);
    const id = this.#nextHandle++;
    this.#handles.set(id, { kind: 'dir', path: virtual, realPath, done: false });
    this.#o.handles.open++;
    this.#sftp.handle(reqid, handleBuffer(id));
  }

  async #readdir(reqid: number, raw: Buffer): Promise<void> {
    const handle = this.#handle(raw);
    if (handle?.kind !== 'dir') return this.#sftp.status(reqid, STATUS_CODE.FAILURE, 'not an open directory');
    if (handle.done) return this.#sftp.status(reqid, STATUS_CODE.EOF);
    handle.done = true;
    const names = (await readdirAsync(handle.realPath)).filter((n) => !n.startsWith('.'));
    const entries = [];
    for (const name of names) {
      // A symlink planted in an area is not listed if it leads out (the resolver refuses it).
      try {
        const real = this.#o.root.realPathOf(`${handle.path === '/' ? '' : handle.path}/${name}`);
        entries.push(entryOf(name, await statAsync(real)));
      } catch {
        // not shown
      }
    }
    if (entries.length === 0) return this.#sftp.status(reqid, STATUS_CODE.EOF);
    this.#sftp.name(reqid, entries);
  }

  #extended(reqid: number, name: string): void {
    // Writes dressed as extensions are refused like writes; the rest are not offered here.
    if (/rename|hardlink|fsync|lsetstat|copy-data|posix-rename/.test(name))
      return this.#sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'read-only: downloads only');
    this.#sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED, `${name} is not supported`);
  }

  #handle(raw: Buffer): FileHandle | DirHandle | undefined {
    return raw.length === 4 ? this.#handles.get(raw.readUInt32BE(0)) : undefined;
  }

  /** Translates an error at the SFTP edge: typed ones to their status, the rest logged whole. */
  #fail(reqid: number, err: unknown): void {
    if (this.#ended) return;
    const { status, message, internal } = sftpStatusOf(err);
    if (internal) this.#o.log.error('sftp request failed', { err, customer: this.#o.customer });
    this.#sftp.status(reqid, status, message);
  }
}
