import { closeSync, readdir, stat } from 'node:fs';
import { promisify } from 'node:util';
import ssh2, { type SFTPWrapper } from 'ssh2';
import { underAny } from '../common/end-options.js';
import { normalizeVirtualPath, refuseDirectoryOnly } from '../common/path-resolver.js';
import { queuedBytes } from '../common/send-file.js';
import { attrsOf, entryOf } from './attrs.js';
import { handleBuffer, readAhead, type DirHandle, type FileHandle } from './file-handles.js';
import { MAX_BUFFERED_REPLIES, MAX_READS_IN_FLIGHT, ReadScheduler } from './read-scheduler.js';
import { ReplyBacklog } from './reply-backlog.js';
import { ANNOUNCED_EXTENSIONS, statvfsPath, statvfsReply } from './statvfs.js';
import { onWindowOpen, RequestIntake, sendPacket, ssh2Sftp, type Ssh2Sftp } from './ssh2-internals.js';
import { StallWatch } from './stall-watch.js';
import { sftpStatusOf } from './status.js';
import { tooManyHandles, type SftpSessionOptions } from './session-options.js';

const { STATUS_CODE, OPEN_MODE } = ssh2.utils.sftp;
const statAsync = promisify(stat);
const readdirAsync = promisify(readdir);

/** Largest READ answered (bigger requests get a short read, as the protocol allows). */
const MAX_READ = 256 * 1024;
const WRITE_FLAGS = OPEN_MODE.WRITE | OPEN_MODE.APPEND | OPEN_MODE.CREAT | OPEN_MODE.TRUNC | OPEN_MODE.EXCL;

/**
 * One SFTP session over a customer's area: the read requests real clients send (REALPATH, STAT,
 * LSTAT, FSTAT, OPENDIR, READDIR, OPEN for reading, READ, CLOSE) and the OpenSSH extensions they
 * probe, and `statvfs@openssh.com` (OpenSSH's `df`). Writes of every kind are answered
 * PERMISSION_DENIED; anything unknown OP_UNSUPPORTED (by ssh2 for unhandled request types, here for
 * unknown extensions). Every path goes through the area's resolver. Each opened file's outcome is
 * reported when it is closed (or the session ends).
 *
 * Every request is answered exactly once while the channel is open. READs and the CLOSE of their
 * handle are answered in the order they came, as OpenSSH's sftp-server does: READs accepted before
 * a CLOSE get their data (or EOF) first, the CLOSE's OK after them; a READ after the CLOSE is
 * refused. A handle's fd stays open while READs of it are pending.
 */
export class SftpSession {
  readonly #sftp: SFTPWrapper;
  readonly #internals: Ssh2Sftp;
  readonly #o: SftpSessionOptions;
  /** Open handles by id (a file whose CLOSE waits for its READs stays here, `released`). */
  readonly #handles = new Map<number, FileHandle | DirHandle>();
  #nextHandle = 1;
  readonly #reads: ReadScheduler;
  #ended = false;
  /** Data replies ssh2 holds for the client's window, and whose they are. */
  readonly #backlog: ReplyBacklog;
  /** Ends the session of a client that stopped reading (the connection's socket is needed to see it). */
  readonly #stall: StallWatch | undefined;

  constructor(sftp: SFTPWrapper, options: SftpSessionOptions) {
    this.#sftp = sftp;
    this.#internals = ssh2Sftp(sftp);
    this.#o = options;
    this.#backlog = new ReplyBacklog(sftp, this.#internals, 4 * MAX_BUFFERED_REPLIES + MAX_READS_IN_FLIGHT);
    this.#reads = new ReadScheduler(new RequestIntake(this.#internals, ANNOUNCED_EXTENSIONS), () => this.#backlog.waiting);
    onWindowOpen(this.#internals, () => this.#reads.wake());
    this.#stall =
      options.socket &&
      new StallWatch(options.socket, options.transferIdleMs, {
        filesOpen: () => [...this.#handles.values()].some((h) => h.kind === 'file'),
        repliesWaiting: () => this.#backlog.waiting > 0 || this.#reads.waiting > 0,
        onProgress: options.onActivity,
        onStall: () => this.#stalled(),
      });
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
    on('EXTENDED', (reqid, name: string, data?: Buffer) => this.#extended(reqid, name, data));
    sftp.on('error', (err: Error) => options.log.debug('sftp channel error', { err, customer: options.customer }));
    // The client's EOF ends the session: answer with our close, or OpenSSH's sftp waits forever
    // after `bye` (ssh2 does not close the channel by itself).
    sftp.on('end', () => {
      this.#end('eof');
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
   * Ends the session (the connection closed): closes what is open and reports the outcome of each
   * open file. The socket's queue (bytes it has not sent) is taken from the files that sent last.
   */
  end(): void {
    this.#end('gone');
  }

  /**
   * `gone`: the connection or channel closed; `eof`: the client ended its requests; `stalled`: cut
   * off for not reading (logged by the stall watch). A client that leaves with requests unanswered
   * is one info line, whatever the number.
   */
  #end(why: 'gone' | 'eof' | 'stalled'): void {
    if (this.#ended) return;
    this.#ended = true;
    const pending = this.#reads.waiting + this.#reads.inFlight;
    const unsentReplies = this.#backlog.waiting;
    if (why !== 'stalled' && pending + unsentReplies > 0) {
      this.#o.log.info('sftp client went away with requests pending', {
        customer: this.#o.customer,
        clientAddress: this.#o.clientAddress,
        pending,
        unsentReplies,
      });
    }
    this.#reads.stop();
    this.#stall?.stop();
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
    const stats = await statAsync(real);
    if (!stats.isDirectory()) refuseDirectoryOnly(path); // `file/` names no file (POSIX: ENOTDIR)
    this.#sftp.attrs(reqid, attrsOf(stats));
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
    refuseDirectoryOnly(path);
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
      pending: 0,
      released: false,
    });
    this.#o.handles.open++;
    this.#startStallWatch();
    this.#sftp.handle(reqid, handleBuffer(id));
  }

  /** The connection holds as many handles as it may (its other sessions count too). */
  #budgetSpent(): boolean {
    return this.#o.handles.open >= this.#o.handles.max;
  }

  /**
   * The customer lost a release: every open file under `paths` is cut off (its further READs, and
   * those waiting, fail with `reason`; its outcome is reported aborted when it is closed). Returns
   * how many files were.
   */
  withdraw(paths: readonly string[], reason: string): number {
    let cut = 0;
    for (const handle of this.#handles.values()) {
      if (handle.kind !== 'file' || handle.withdrawn !== undefined || !underAny(handle.path, paths)) continue;
      handle.withdrawn = reason;
      cut++;
    }
    if (cut > 0) this.#o.log.info('sftp transfer cut off: release withdrawn', { customer: this.#o.customer, files: cut, reason });
    return cut;
  }

  /** A READ is accepted for an open file (counted pending on it) and runs in its turn; otherwise refused at once. */
  #queueRead(reqid: number, raw: Buffer, offset: number, length: number): void {
    const handle = this.#handle(raw);
    if (handle?.kind !== 'file' || handle.released) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, 'not an open file');
    if (handle.withdrawn !== undefined) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, handle.withdrawn);
    handle.pending++;
    const id = raw.readUInt32BE(0);
    this.#reads.add(() =>
      this.#read(reqid, handle, offset, length)
        .catch((err: unknown) => this.#fail(reqid, err))
        .finally(() => this.#settled(id, handle)),
    );
  }

  /** One of the handle's READs is answered: when none is left, a waiting CLOSE is answered, a released fd closed. */
  #settled(id: number, handle: FileHandle): void {
    handle.pending--;
    if (handle.pending > 0 || !handle.released) return;
    if (handle.closeReqid !== undefined && !this.#ended) {
      this.#handles.delete(id);
      this.#o.handles.open--;
      this.#finishFile(handle, this.#socketQueued());
      this.#sftp.status(handle.closeReqid, STATUS_CODE.OK);
    } else closeFd(handle);
  }

  async #read(reqid: number, handle: FileHandle, offset: number, length: number): Promise<void> {
    if (this.#ended) return; // nobody to answer
    if (handle.withdrawn !== undefined) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, handle.withdrawn);
    if (offset >= handle.stats.size) {
      handle.reachedEnd = true;
      return this.#sftp.status(reqid, STATUS_CODE.EOF);
    }
    const wanted = Math.min(length, MAX_READ, handle.stats.size - offset);
    const data = await readAhead(handle, offset, wanted);
    if (this.#ended) return;
    if (handle.withdrawn !== undefined) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, handle.withdrawn);
    if (data.length === 0) {
      handle.reachedEnd = true;
      return this.#sftp.status(reqid, STATUS_CODE.EOF);
    }
    handle.bytes += data.length;
    handle.lastSent = performance.now();
    this.#o.live?.reading(handle.path);
    this.#o.live?.progress(data.length);
    if (offset + data.length >= handle.stats.size) handle.reachedEnd = true;
    // Held by ssh2 when the client's window is shut: counted out if the transfer ends first.
    this.#backlog.send(reqid, data, handle);
  }

  /** Bytes ssh2 wrote to the socket that the kernel has not taken (0 once the socket is gone: Node no longer says). */
  #socketQueued(): number {
    const socket = this.#o.socket;
    return socket && !socket.destroyed ? queuedBytes(socket) : 0;
  }

  #startStallWatch(): void {
    if (!this.#ended) this.#stall?.start(); // without the socket, progress cannot be seen
  }

  #stalled(): void {
    this.#o.log.info('sftp client stopped reading: closing the connection', {
      customer: this.#o.customer,
      clientAddress: this.#o.clientAddress,
      idleSeconds: Math.round(this.#o.transferIdleMs / 1000),
    });
    this.#end('stalled');
    this.#o.onStall();
  }

  #close(reqid: number, raw: Buffer): void {
    const id = raw.length === 4 ? raw.readUInt32BE(0) : -1;
    const handle = this.#handles.get(id);
    if (!handle || (handle.kind === 'file' && handle.released)) return this.#sftp.status(reqid, STATUS_CODE.FAILURE, 'no such handle');
    if (handle.kind === 'file') {
      handle.released = true;
      if (handle.pending > 0) {
        handle.closeReqid = reqid; // answered by #settled, after the READs that came before it
        return;
      }
    }
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
    handle.released = true;
    this.#o.live?.idle(handle.path);
    if (handle.pending === 0) closeFd(handle); // else when its last READ is answered (#settled)
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

  async #extended(reqid: number, name: string, data: Buffer | undefined): Promise<void> {
    // Writes dressed as extensions are refused like writes; the rest are not offered here.
    if (/rename|hardlink|fsync|lsetstat|copy-data|posix-rename/.test(name))
      return this.#sftp.status(reqid, STATUS_CODE.PERMISSION_DENIED, 'read-only: downloads only');
    if (name !== 'statvfs@openssh.com') return this.#sftp.status(reqid, STATUS_CODE.OP_UNSUPPORTED, `${name} is not supported`);
    const path = statvfsPath(data);
    if (path === undefined) return this.#sftp.status(reqid, STATUS_CODE.BAD_MESSAGE, 'malformed statvfs request');
    const reply = await statvfsReply(reqid, this.#o.root.realPathOf(this.#virtual(path)));
    this.#sendPacket(reply);
  }

  /** A packet ssh2 has no method for, sent in order with its replies (retried while the client's window is too small). */
  #sendPacket(packet: Buffer): void {
    if (this.#ended || sendPacket(this.#internals, packet)) return;
    setTimeout(() => this.#sendPacket(packet), 5).unref();
  }

  #handle(raw: Buffer): FileHandle | DirHandle | undefined {
    return raw.length === 4 ? this.#handles.get(raw.readUInt32BE(0)) : undefined;
  }

  /**
   * Translates an error at the SFTP edge: typed ones to their status, the rest logged whole. Once
   * the client is gone (the session ended, the channel no longer open) nothing is answered or
   * logged here: the session's end says it once.
   */
  #fail(reqid: number, err: unknown): void {
    if (this.#ended || this.#internals.outgoing.state !== 'open') return;
    const { status, message, internal } = sftpStatusOf(err);
    if (internal) this.#o.log.error('sftp request failed', { err, customer: this.#o.customer });
    this.#sftp.status(reqid, status, message);
  }
}

/** Closes a file's fd once (its READs are all answered). */
function closeFd(handle: FileHandle): void {
  if (handle.fd < 0) return;
  try {
    closeSync(handle.fd);
  } catch {
    // closed already
  }
  handle.fd = -1;
}
