import { randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, type Readable } from 'node:stream';
import { Errors } from '../../../lib/commlink/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { UploadSocketSettings } from './wire.js';

/** The header line at most: "<upload id> <secret>\n". */
const MAX_HEADER_BYTES = 256;
/** A socket whose upload the worker never asked for (or the other way round) is dropped after this. */
const UNMATCHED_MS = 30_000;

interface Upload {
  readonly body: PassThrough;
  socket: Socket | undefined;
  received: number;
  socketEnded: boolean;
  /** The bytes the worker says it sent (undefined until it says so). */
  sent: number | undefined;
  /** True once the primary asked for it (a file-host request reads `body`). */
  expected: boolean;
  readonly timer: NodeJS.Timeout;
}

/**
 * The primary's end of the workers' upload bytes: a Unix socket in a private directory (mode
 * 0700, removed at close). A worker connects per upload and sends one line naming the upload and
 * this primary's secret, then the raw bytes; the primary hands them on as the Readable of the
 * file-host request (`expect`), with the socket's own back-pressure.
 *
 * Invariant: an upload's body ends only when the socket ended AND the worker said over IPC that it
 * sent exactly the bytes that arrived; anything else (the worker says it failed, the socket breaks,
 * the counts differ, the worker dies) destroys the body with ERR_STREAM_ABORTED, so the file host
 * keeps nothing of a cut upload.
 */
export class UploadSocket {
  readonly #server: Server;
  readonly #dir: string;
  readonly #secret: Buffer;
  readonly #uploads = new Map<string, Upload>();
  readonly #log: Logger;

  private constructor(server: Server, dir: string, secret: Buffer, log: Logger) {
    this.#server = server;
    this.#dir = dir;
    this.#secret = secret;
    this.#log = log;
  }

  static async open(log: Logger): Promise<UploadSocket> {
    const dir = await mkdtemp(join(tmpdir(), 'ffs-web-')); // mode 0700
    const server = createServer();
    const socket = new UploadSocket(server, dir, randomBytes(24), log);
    server.on('connection', (s) => socket.#accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(join(dir, 'uploads.sock'), () => resolve());
    });
    return socket;
  }

  get settings(): UploadSocketSettings {
    return { path: join(this.#dir, 'uploads.sock'), secret: this.#secret.toString('base64url') };
  }

  /** The bytes of the named upload, as they arrive. */
  expect(upload: string): Readable {
    const u = this.#upload(upload);
    u.expected = true;
    return u.body;
  }

  /** The worker sent all of it: `bytes` bytes. */
  end(upload: string, bytes: number): void {
    const u = this.#uploads.get(upload);
    if (!u) return;
    u.sent = bytes;
    this.#settle(upload, u);
  }

  /** The worker could not send it all (its client went away …). */
  abort(upload: string, reason: string): void {
    const u = this.#uploads.get(upload);
    if (u) this.#fail(upload, u, reason);
  }

  /** A worker died: its uploads end as failed. */
  abortWorker(workerId: number): void {
    for (const [id, u] of this.#uploads) if (id.startsWith(`${workerId}.`)) this.#fail(id, u, `worker ${workerId} exited`);
  }

  /** The request that read the upload is over: nothing of it is kept. */
  forget(upload: string): void {
    const u = this.#uploads.get(upload);
    if (!u) return;
    if (!u.body.writableEnded) this.#fail(upload, u, 'the request ended');
    else this.#drop(upload, u);
  }

  async close(): Promise<void> {
    for (const [id, u] of this.#uploads) this.#fail(id, u, 'the web host is closing');
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    await rm(this.#dir, { recursive: true, force: true });
  }

  #upload(id: string): Upload {
    let u = this.#uploads.get(id);
    if (!u) {
      const timer = setTimeout(() => {
        const stale = this.#uploads.get(id);
        if (stale && !stale.expected) this.#fail(id, stale, 'no request for this upload');
      }, UNMATCHED_MS);
      timer.unref();
      u = {
        body: new PassThrough({ highWaterMark: 1024 * 1024 }),
        socket: undefined,
        received: 0,
        socketEnded: false,
        sent: undefined,
        expected: false,
        timer,
      };
      this.#uploads.set(id, u);
    }
    return u;
  }

  #accept(socket: Socket): void {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const eol = head.indexOf(10);
      if (eol < 0) {
        if (head.length > MAX_HEADER_BYTES) socket.destroy();
        return;
      }
      socket.off('data', onData);
      socket.pause();
      const [id = '', secret = ''] = head.subarray(0, eol).toString('latin1').split(' ');
      const given = Buffer.from(secret, 'base64url');
      if (given.length !== this.#secret.length || !timingSafeEqual(given, this.#secret) || !/^\d+\.\d+$/.test(id)) {
        this.#log.warn('upload socket: a connection without the secret was refused');
        socket.destroy();
        return;
      }
      const u = this.#upload(id);
      if (u.socket) {
        socket.destroy();
        return;
      }
      u.socket = socket;
      const rest = head.subarray(eol + 1);
      if (rest.length > 0) socket.unshift(rest);
      socket.on('data', (data: Buffer) => (u.received += data.length));
      socket.once('end', () => {
        u.socketEnded = true;
        this.#settle(id, u);
      });
      socket.once('close', () => {
        if (!u.socketEnded) this.#fail(id, u, 'the upload socket broke');
      });
      socket.on('error', () => {}); // its close fails the upload
      socket.pipe(u.body, { end: false });
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
  }

  #settle(id: string, u: Upload): void {
    if (!u.socketEnded || u.sent === undefined) return;
    if (u.sent !== u.received) return this.#fail(id, u, `the worker sent ${u.sent} bytes, ${u.received} arrived`);
    u.body.end();
  }

  #fail(id: string, u: Upload, reason: string): void {
    this.#drop(id, u);
    u.socket?.destroy();
    if (!u.body.destroyed && !u.body.writableEnded) u.body.destroy(Errors.STREAM_ABORTED(`upload ${id}: ${reason}`));
  }

  #drop(id: string, u: Upload): void {
    clearTimeout(u.timer);
    if (this.#uploads.get(id) === u) this.#uploads.delete(id);
  }
}
