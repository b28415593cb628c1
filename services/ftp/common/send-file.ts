import { read } from 'node:fs';
import type { Socket } from 'node:net';
import type { Writable } from 'node:stream';
import { TLSSocket } from 'node:tls';
import { EAGAIN, sendfile } from '../../../lib/sendfile/index.js';
import { StallWatch, stalledError } from './stall-watch.js';

/** Most bytes one sendfile call may move (the socket buffer usually takes less). */
const SENDFILE_MAX = 4 * 1024 * 1024;
/** Written the ordinary way when the socket is full: its write callback says the socket drained. */
const WAKE_CHUNK = 64 * 1024;
const STREAM_CHUNK = 512 * 1024;

/** The error of a send that stopped early, with the bytes that got to the socket before it. */
export interface SendError extends Error {
  bytes: number;
}

/*
 * Node gives no public way to a TCP socket's descriptor or to libuv's write queue; both are read
 * from the socket's handle (TCPWrap), as Node's own tests do.
 */
interface TcpHandle {
  fd?: number;
  writeQueueSize?: number;
}

export function socketFd(socket: Socket): number | undefined {
  if (socket instanceof TLSSocket) return undefined; // bytes must go through TLS
  const fd = (socket as unknown as { _handle?: TcpHandle })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

export function queuedBytes(socket: Socket): number {
  return socket.writableLength + ((socket as unknown as { _handle?: TcpHandle })._handle?.writeQueueSize ?? 0);
}

export interface SendOptions {
  /** No byte taken by the socket for this long (ms) ends the send with a stalled error (0 or absent: never). */
  idleMs?: number;
  /** Told each time the socket has taken more bytes (live sessions: bytes so far and the rate). */
  onBytes?: (bytes: number) => void;
}

/**
 * Sends bytes `start`..`end` (inclusive) of an open file to a connected socket and resolves with
 * the count once the socket has taken them all; it does not end the socket. On a plain TCP socket
 * with the sendfile addon, the bytes go from the page cache to the socket inside the kernel; when
 * the socket is full, 64 KiB go the ordinary way and their write callback resumes sendfile (no
 * polling, no thread). Otherwise (TLS, no addon) the range is streamed with backpressure.
 *
 * A send that stops early rejects with a SendError whose `bytes` are those the socket took (the
 * kernel accepted them: what Node still held for the socket is not counted), so an aborted
 * download is audited with what left the host, give or take the kernel's socket buffers. With
 * `idleMs`, a client that stops reading ends the send after that long (isStalled(err)); the caller
 * closes the socket.
 *
 * Invariant: sendfile runs only when nothing is queued on the socket, so bytes stay in order.
 */
export function sendFileRange(socket: Socket, fd: number, start: number, end: number, options: SendOptions = {}): Promise<number> {
  const out = socketFd(socket);
  if (!sendfile || out === undefined) return streamRange(socket, fd, start, end, options);
  const send = sendfile;
  return new Promise<number>((resolve, reject) => {
    let position = start;
    let settled = false;
    const watch = options.idleMs ? new StallWatch(options.idleMs, () => fail(stalledError(options.idleMs!))) : undefined;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      watch?.stop();
      socket.off('close', onClose);
      reject(Object.assign(error, { bytes: position - start }));
    };
    const onClose = () => fail(new Error('the connection closed during the transfer'));
    socket.once('close', onClose);
    const done = () => {
      if (settled) return;
      settled = true;
      watch?.stop();
      socket.off('close', onClose);
      resolve(position - start);
    };
    const pump = (): void => {
      if (settled) return;
      if (socket.destroyed) return fail(new Error('the connection closed during the transfer'));
      while (position <= end) {
        if (queuedBytes(socket) > 0) return void socket.write(Buffer.alloc(0), () => pump()); // let Node's queue drain first
        const n = send(out, fd, position, Math.min(SENDFILE_MAX, end - position + 1));
        if (n > 0) {
          position += n;
          watch?.progress();
          options.onBytes?.(n);
          continue;
        }
        if (n === EAGAIN) return wake();
        return fail(new Error(n === 0 ? 'the file ended before the range did' : `sendfile failed (errno ${-n})`));
      }
      done();
    };
    const wake = (): void => {
      const size = Math.min(WAKE_CHUNK, end - position + 1);
      const chunk = Buffer.allocUnsafe(size);
      read(fd, chunk, 0, size, position, (err, bytes) => {
        if (settled) return;
        if (err || bytes !== size) return fail(err ?? new Error('the file ended before the range did'));
        socket.write(chunk, (writeErr) => {
          if (writeErr) return fail(writeErr);
          position += size; // counted once the socket has taken it
          watch?.progress();
          options.onBytes?.(size);
          pump();
        });
      });
    };
    pump();
  });
}

/**
 * Streams a range into `out` (a socket, a TLS socket, an HTTP response) with backpressure, without
 * ending it, and resolves with the byte count. Bytes count once their write callback has run (the
 * socket took them); on failure the SendError carries that count. `idleMs` as for sendFileRange.
 */
export function streamRange(out: Writable, fd: number, start: number, end: number, options: SendOptions = {}): Promise<number> {
  if (end < start) return Promise.resolve(0);
  return new Promise<number>((resolve, reject) => {
    let position = start;
    let taken = 0;
    let writing = 0;
    let settled = false;
    const watch = options.idleMs ? new StallWatch(options.idleMs, () => fail(stalledError(options.idleMs!))) : undefined;
    const cleanup = () => {
      watch?.stop();
      out.off('close', onClose);
      out.off('drain', next);
    };
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      cleanup();
      reject(Object.assign(error, { bytes: taken }));
    };
    const onClose = () => fail(new Error('the connection closed during the transfer'));
    out.once('close', onClose);
    function next(): void {
      if (settled) return;
      if (position > end) {
        if (writing === 0) {
          settled = true;
          cleanup();
          resolve(taken);
        }
        return;
      }
      const size = Math.min(STREAM_CHUNK, end - position + 1);
      const chunk = Buffer.allocUnsafe(size);
      read(fd, chunk, 0, size, position, (err, bytes) => {
        if (settled) return;
        if (err || bytes !== size) return fail(err ?? new Error('the file ended before the range did'));
        position += size;
        writing++;
        const more = out.write(chunk, (writeErr?: Error | null) => {
          writing--;
          if (writeErr) return fail(writeErr);
          taken += size;
          watch?.progress();
          options.onBytes?.(size);
          if (position > end && writing === 0) next();
        });
        if (more) next();
        else out.once('drain', next);
      });
    }
    next();
  });
}
