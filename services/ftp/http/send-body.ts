import { createReadStream, read } from 'node:fs';
import type { ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { pipeline } from 'node:stream';
import { EAGAIN, sendfile } from '../../../lib/sendfile/index.js';

/** Most bytes one sendfile call may move (the socket buffer usually takes less). */
const SENDFILE_MAX = 4 * 1024 * 1024;
/** The chunk written the ordinary way when the socket is full: its callback says the socket drained. */
const WAKE_CHUNK = 64 * 1024;
/** Read size when streaming: big reads keep per-chunk overhead low; backpressure bounds memory. */
const STREAM_CHUNK = 512 * 1024;

export interface BodyRange {
  fd: number;
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Sends `range` of an open file as the body of `res` (headers already set), then calls `done` once
 * with the bytes sent (all of them, or fewer when the client went away).
 *
 * With the sendfile addon (Linux), bytes go from the page cache to the socket in the kernel. The
 * invariant that keeps the byte order right: sendfile runs only when nothing is queued on the
 * socket (Node's buffer and libuv's queue both empty). When the socket is full (EAGAIN), the next
 * 64 KiB go the ordinary way, and their write callback (the socket took them) resumes sendfile;
 * so a slow client costs no polling and no thread. Without the addon, or when the socket is shared
 * with a queued response, the range is streamed with backpressure.
 */
export function sendBody(res: ServerResponse, range: BodyRange, done: (sent: number) => void): void {
  const socket = res.socket;
  const socketFd = socket ? fdOf(socket) : undefined;
  if (!sendfile || !socket || socketFd === undefined) return streamBody(res, range, 0, done);
  const send = sendfile;
  let position = range.start;
  let finished = false;
  const finish = (sent: number) => {
    if (finished) return;
    finished = true;
    done(sent);
  };
  res.once('close', () => finish(res.writableFinished ? range.end - range.start + 1 : position - range.start));

  const pump = (): void => {
    if (finished || res.destroyed) return;
    while (position <= range.end) {
      if (socket.writableLength > 0 || queued(socket) > 0) return streamBody(res, range, position - range.start, finish); // someone else wrote: keep it simple
      const n = send(socketFd, range.fd, position, Math.min(SENDFILE_MAX, range.end - position + 1));
      if (n > 0) {
        position += n;
        continue;
      }
      if (n === EAGAIN) return wake();
      res.destroy(new Error(n === 0 ? 'the file ended before the range did' : `sendfile failed (errno ${-n})`));
      return;
    }
    res.end();
  };

  /** Writes the next small chunk the ordinary way; when the socket has taken it, pump again. */
  const wake = (): void => {
    const size = Math.min(WAKE_CHUNK, range.end - position + 1);
    const chunk = Buffer.allocUnsafe(size);
    read(range.fd, chunk, 0, size, position, (err, bytes) => {
      if (finished || res.destroyed) return;
      if (err || bytes !== size) {
        res.destroy(err ?? new Error('the file ended before the range did'));
        return;
      }
      position += size;
      if (position > range.end) res.end(chunk);
      else res.write(chunk, () => pump());
    });
  };

  // The headers go first, the ordinary way (Node uncorks the socket on the next tick); if the
  // socket has not taken them by the time pump runs, pump streams instead.
  res.flushHeaders();
  setImmediate(pump);
}

/** Streams `range` from `offset` bytes into it; `done` gets the bytes sent in all. */
function streamBody(res: ServerResponse, range: BodyRange, offset: number, done: (sent: number) => void): void {
  const stream = createReadStream('', { fd: range.fd, start: range.start + offset, end: range.end, highWaterMark: STREAM_CHUNK, autoClose: false });
  pipeline(stream, res, (err) => {
    const total = range.end - range.start + 1;
    // Aborted: what was read, less what still sat in the stream's and the response's buffers.
    done(err ? Math.min(total, offset + Math.max(0, stream.bytesRead - stream.readableLength - res.writableLength)) : total);
  });
}

/*
 * Node gives no public way to a TCP socket's descriptor or to libuv's write queue; both are read
 * from the socket's handle (TCPWrap), as Node's own tests do. `any` is avoided with this shape.
 */
interface TcpHandle {
  fd?: number;
  writeQueueSize?: number;
}

function fdOf(socket: Socket): number | undefined {
  const fd = (socket as unknown as { _handle?: TcpHandle })._handle?.fd;
  return typeof fd === 'number' && fd >= 0 ? fd : undefined;
}

function queued(socket: Socket): number {
  return (socket as unknown as { _handle?: TcpHandle })._handle?.writeQueueSize ?? 0;
}
