import type { RequestIntake } from './ssh2-internals.js';

/** READs being served at once per session; later ones wait their turn (they are only a few bytes each). */
export const MAX_READS_IN_FLIGHT = 64;
/** Replies held in ssh2's buffer (the client's window is full) before READs wait: memory stays bounded. */
export const MAX_BUFFERED_REPLIES = 16;
/** Waiting READs at which the session stops taking requests from the channel, and at which it takes them again. */
const PAUSE_AT = 256;
const RESUME_AT = 64;

/**
 * When a session's READs run. At most MAX_READS_IN_FLIGHT at once, and none while ssh2 holds
 * MAX_BUFFERED_REPLIES replies for the client's window; the rest wait in order. A client that asks
 * far ahead of what it takes (paramiko asks for a whole file at once) is slowed, never cut off: past
 * PAUSE_AT waiting READs the session stops taking requests from the channel (the client's window to
 * us shuts after at most 2 MiB of requests, held unparsed), and takes them again at RESUME_AT.
 *
 * Invariant: waiting READs stay under PAUSE_AT plus one channel packet's worth (~1,000 READs of
 * 33 bytes); replies in memory under MAX_BUFFERED_REPLIES held plus MAX_READS_IN_FLIGHT being read.
 */
export class ReadScheduler {
  readonly #intake: RequestIntake;
  /** Replies ssh2 holds for the client's window now. */
  readonly #buffered: () => number;
  #inFlight = 0;
  readonly #queue: (() => Promise<void>)[] = [];
  #pollTimer: NodeJS.Timeout | undefined;
  #stopped = false;

  constructor(intake: RequestIntake, buffered: () => number) {
    this.#intake = intake;
    this.#buffered = buffered;
  }

  /** READs waiting their turn. */
  get waiting(): number {
    return this.#queue.length;
  }

  get inFlight(): number {
    return this.#inFlight;
  }

  /** Runs `read` now or when its turn comes; `read` answers its request itself and never rejects. */
  add(read: () => Promise<void>): void {
    if (this.#queue.length === 0 && this.#hasRoom()) return this.#run(read);
    this.#queue.push(read);
    if (this.#queue.length >= PAUSE_AT) this.#intake.pause();
    // `wake` says when ssh2's buffer drains; the poll (as often as before it) is a safety net while READs wait.
    this.#pollTimer ??= setInterval(() => this.#pump(), 5);
  }

  /** Room may have opened (ssh2 sent what it held for the client's window): waiting READs run. */
  wake(): void {
    if (this.#queue.length > 0) this.#pump();
  }

  /**
   * The session ended: the waiting READs are run at once (each sees the session ended, answers
   * nothing and lets go of its handle), and nothing waits any more.
   */
  stop(): void {
    this.#stopped = true;
    this.#stopPolling();
    for (const read of this.#queue.splice(0)) this.#run(read);
  }

  #hasRoom(): boolean {
    return this.#inFlight < MAX_READS_IN_FLIGHT && this.#buffered() < MAX_BUFFERED_REPLIES;
  }

  #run(read: () => Promise<void>): void {
    this.#inFlight++;
    void read().finally(() => {
      this.#inFlight--;
      this.#pump();
    });
  }

  #pump(): void {
    if (this.#stopped) return;
    while (this.#queue.length > 0 && this.#hasRoom()) this.#run(this.#queue.shift()!);
    if (this.#queue.length <= RESUME_AT) this.#intake.resume(); // may add READs (and pause again)
    if (this.#queue.length === 0) this.#stopPolling();
  }

  #stopPolling(): void {
    if (this.#pollTimer) clearInterval(this.#pollTimer);
    this.#pollTimer = undefined;
  }
}
