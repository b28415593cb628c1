import { createReadStream } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { pipeline } from 'node:stream';
import { sendfile } from '../../../lib/sendfile/index.js';
import { sendFileRange, socketFd, type SendError } from '../common/send-file.js';

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
 * With the sendfile addon, the headers go first the ordinary way, then the body goes straight to
 * the socket by sendFileRange (common/send-file.ts, shared with FTP): page cache to socket in the
 * kernel, in order after whatever Node still had queued. Without the addon the range is streamed
 * through the response with backpressure.
 */
export function sendBody(res: ServerResponse, range: BodyRange, done: (sent: number) => void): void {
  const socket = res.socket;
  if (!sendfile || !socket || socketFd(socket) === undefined) return streamBody(res, range, done);
  res.flushHeaders();
  sendFileRange(socket, range.fd, range.start, range.end).then(
    (sent) => {
      res.end();
      done(sent);
    },
    (err: SendError) => {
      res.destroy(err);
      done(err.bytes ?? 0);
    },
  );
}

/** Streams `range` through the response; `done` gets the bytes sent. */
function streamBody(res: ServerResponse, range: BodyRange, done: (sent: number) => void): void {
  const stream = createReadStream('', { fd: range.fd, start: range.start, end: range.end, highWaterMark: STREAM_CHUNK, autoClose: false });
  pipeline(stream, res, (err) => {
    const total = range.end - range.start + 1;
    // Aborted: what was read, less what still sat in the stream's and the response's buffers.
    done(err ? Math.min(total, Math.max(0, stream.bytesRead - stream.readableLength - res.writableLength)) : total);
  });
}
