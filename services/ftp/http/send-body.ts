import type { ServerResponse } from 'node:http';
import { sendfile } from '../../../lib/sendfile/index.js';
import { sendFileRange, socketFd, streamRange, type SendError } from '../common/send-file.js';

export interface BodyRange {
  fd: number;
  start: number;
  /** Inclusive. */
  end: number;
}

/**
 * Sends `range` of an open file as the body of `res` (headers already set), then calls `done` once
 * with the bytes the socket took (all of them, or fewer when the client went away or stalled) and
 * the error that stopped it, if any.
 *
 * With the sendfile addon, the headers go first the ordinary way, then the body goes straight to
 * the socket by sendFileRange (common/send-file.ts, shared with FTP): page cache to socket in the
 * kernel, in order after whatever Node still had queued. Without the addon the range is streamed
 * through the response with backpressure. Either way a client that takes no byte for `idleMs`
 * (services.ftp.transferIdleSeconds) is cut off. `onBytes` is told the bytes as the socket takes them.
 */
export function sendBody(
  res: ServerResponse,
  range: BodyRange,
  idleMs: number,
  done: (sent: number, err?: Error) => void,
  onBytes?: (bytes: number) => void,
): void {
  const socket = res.socket;
  let sending: Promise<number>;
  if (sendfile && socket && socketFd(socket) !== undefined) {
    res.flushHeaders();
    sending = sendFileRange(socket, range.fd, range.start, range.end, { idleMs, onBytes });
  } else sending = streamRange(res, range.fd, range.start, range.end, { idleMs, onBytes });
  sending.then(
    (sent) => {
      res.end();
      done(sent);
    },
    (err: SendError) => {
      res.destroy(err);
      done(err.bytes ?? 0, err);
    },
  );
}
