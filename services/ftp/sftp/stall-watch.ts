import type { Socket } from 'node:net';
import { queuedBytes } from '../common/send-file.js';

/** What the watch asks of its session at each look. */
export interface StallProbe {
  /** Whether the session has files open (the watch stops when it has none). */
  filesOpen(): boolean;
  /** Whether replies wait for the client: held by ssh2 for its window, or READs waiting their turn. */
  repliesWaiting(): boolean;
  /** The client took bytes while replies waited: it is busy, not idle (the connection's idle timer). */
  onProgress(): void;
  /** No byte taken for idleMs while replies waited. */
  onStall(): void;
}

/**
 * Watches for a client that stopped reading: while replies wait (in ssh2 for the window, in the
 * queue of READs, in the socket) and the socket takes no byte for idleMs, `onStall` is called
 * once. A session whose intake is paused is not idle while the client takes bytes: each look that
 * sees progress calls `onProgress`.
 */
export class StallWatch {
  readonly #socket: Socket;
  readonly #idleMs: number;
  readonly #probe: StallProbe;
  #timer: NodeJS.Timeout | undefined;
  #lastProgress = 0;
  #lastTaken = -1;

  constructor(socket: Socket, idleMs: number, probe: StallProbe) {
    this.#socket = socket;
    this.#idleMs = idleMs;
    this.#probe = probe;
  }

  /** Starts watching (a file was opened); watching already, nothing changes. */
  start(): void {
    if (this.#timer) return;
    this.#lastProgress = performance.now();
    this.#lastTaken = -1;
    this.#timer = setInterval(() => this.#look(), Math.max(50, Math.min(1000, Math.floor(this.#idleMs / 4))));
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #look(): void {
    if (!this.#probe.filesOpen()) return this.stop();
    const queued = this.#socket.destroyed ? 0 : queuedBytes(this.#socket);
    const taken = this.#socket.bytesWritten - queued;
    const now = performance.now();
    const waiting = this.#probe.repliesWaiting() || queued > 0;
    if (!waiting || taken !== this.#lastTaken) {
      if (waiting) this.#probe.onProgress();
      this.#lastTaken = taken;
      this.#lastProgress = now;
      return;
    }
    if (now - this.#lastProgress < this.#idleMs) return;
    this.stop();
    this.#probe.onStall();
  }
}
