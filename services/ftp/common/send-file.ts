import { createReadStream, read } from 'node:fs';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { TLSSocket } from 'node:tls';
import { EAGAIN, sendfile } from '../../../lib/sendfile/index.js';

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

/**
 * Sends bytes `start`..`end` (inclusive) of an open file to a connected socket and resolves with
 * the count once the socket has taken them all; it does not end the socket. On a plain TCP socket
 * with the sendfile addon, the bytes go from the page cache to the socket inside the kernel; when
 * the socket is full, 64 KiB go the ordinary way and their write callback resumes sendfile (no
 * polling, no thread). Otherwise (TLS, no addon) the range is streamed with backpressure.
 * Invariant: sendfile runs only when nothing is queued on the socket, so bytes stay in order.
 */
export function sendFileRange(socket: Socket, fd: number, start: number, end: number): Promise<number> {
  const out = socketFd(socket);
  if (!sendfile || out === undefined) return streamRange(socket, fd, start, end);
  const send = sendfile;
  return new Promise<number>((resolve, reject) => {
    let position = start;
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      socket.off('close', onClose);
      reject(Object.assign(error, { bytes: position - start }));
    };
    const onClose = () => fail(new Error('the connection closed during the transfer'));
    socket.once('close', onClose);
    const done = () => {
      if (settled) return;
      settled = true;
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
          position += size;
          pump();
        });
      });
    };
    pump();
  });
}

async function streamRange(socket: Socket, fd: number, start: number, end: number): Promise<number> {
  if (end < start) return 0;
  const stream = createReadStream('', { fd, start, end, highWaterMark: STREAM_CHUNK, autoClose: false });
  let read = 0;
  stream.on('data', (chunk: string | Buffer) => {
    read += chunk.length;
  });
  try {
    await pipeline(stream, socket, { end: false });
    return end - start + 1;
  } catch (err) {
    throw Object.assign(err as Error, { bytes: Math.max(0, read - socket.writableLength) });
  }
}
