import { read, type Stats } from 'node:fs';
import { promisify } from 'node:util';

const readAsync = promisify(read);

/** Bytes read ahead at once for a file handle: one disk read serves many client READs. */
const READ_AHEAD = 512 * 1024;
/** Read-ahead windows kept per handle (a client keeps requests in flight across a window edge). */
const WINDOWS_PER_HANDLE = 3;

interface Window {
  start: number;
  /** Resolves with the bytes from `start` (fewer at the end of the file). */
  data: Promise<Buffer>;
}

/** An open file of an SFTP session, and what of it was sent. */
export interface FileHandle {
  kind: 'file';
  fd: number;
  path: string;
  stats: Stats;
  /** Data bytes handed to ssh2 (some may still wait in its buffer for the client's window: see ReplyBacklog). */
  bytes: number;
  /** When data was last handed to ssh2 (the socket's queue holds the newest bytes). */
  lastSent: number;
  reachedEnd: boolean;
  started: number;
  /** Newest last; at most WINDOWS_PER_HANDLE. */
  windows: Window[];
  /** READs accepted for this handle and not answered yet (queued or being read): the fd stays open while any is. */
  pending: number;
  /** The CLOSE that came while READs were pending: answered once they are (OpenSSH answers in order). */
  closeReqid?: number;
  /** Closed by the client or the session's end: no new READ is accepted, the fd is closed when nothing is pending. */
  released: boolean;
  /** The customer lost the release: every further READ fails with this. */
  withdrawn?: string;
}

/** An open directory of an SFTP session (listed in one READDIR). */
export interface DirHandle {
  kind: 'dir';
  path: string;
  realPath: string;
  done: boolean;
}

/** A handle's wire form: its id as 4 bytes. */
export function handleBuffer(id: number): Buffer {
  const buffer = Buffer.allocUnsafe(4);
  buffer.writeUInt32BE(id, 0);
  return buffer;
}

/**
 * `length` bytes at `offset`, from a read-ahead window: clients read a file sequentially with
 * many requests in flight, so one 512 KiB read serves the next sixteen 32 KiB requests without
 * another trip to the disk thread pool. A request across a window edge reads directly.
 */
export async function readAhead(handle: FileHandle, offset: number, length: number): Promise<Buffer> {
  let window = handle.windows.find((w) => offset >= w.start && offset < w.start + READ_AHEAD);
  if (!window) {
    const start = offset;
    const size = Math.min(READ_AHEAD, handle.stats.size - start);
    const buffer = Buffer.allocUnsafe(size);
    window = { start, data: readAsync(handle.fd, buffer, 0, size, start).then(({ bytesRead }) => buffer.subarray(0, bytesRead)) };
    handle.windows.push(window);
    if (handle.windows.length > WINDOWS_PER_HANDLE) handle.windows.shift();
  }
  const data = await window.data;
  const from = offset - window.start;
  if (from + length <= data.length || data.length < READ_AHEAD) return data.subarray(from, Math.min(from + length, data.length));
  const direct = Buffer.allocUnsafe(length);
  const { bytesRead } = await readAsync(handle.fd, direct, 0, length, offset);
  return direct.subarray(0, bytesRead);
}
