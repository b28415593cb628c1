import type { SFTPWrapper } from 'ssh2';
import type { FileHandle } from './file-handles.js';
import type { Ssh2Sftp } from './ssh2-internals.js';

/** A reply (or its tail) ssh2 holds for the client's window: where its bytes are, and whose data it is. */
interface HeldReply {
  buffer: ArrayBufferLike;
  start: number;
  end: number;
  handle: FileHandle;
  dataLength: number;
}

/**
 * The data replies ssh2 holds because the client's window is shut: how many wait (READs pause
 * past a few), and whose bytes they are, so that a transfer that ends first counts them out (they
 * were handed over, never sent). ssh2 keeps them in a private buffer and exposes no count of unsent
 * bytes, so this reads it.
 */
export class ReplyBacklog {
  readonly #sftp: SFTPWrapper;
  readonly #internals: Ssh2Sftp;
  readonly #keep: number;
  /** Oldest first; pruned as ssh2 sends them. */
  #held: HeldReply[] = [];

  /** `keep`: how many held replies are remembered before the ones ssh2 has sent are pruned. */
  constructor(sftp: SFTPWrapper, internals: Ssh2Sftp, keep: number) {
    this.#sftp = sftp;
    this.#internals = internals;
    this.#keep = keep;
  }

  /** Replies waiting in ssh2 for the client's window. */
  get waiting(): number {
    return this.#buffer()?.length ?? 0;
  }

  /** Sends `data` as the reply to `reqid`, remembering it when ssh2 holds it instead of sending it. */
  send(reqid: number, data: Buffer, handle: FileHandle): void {
    const buffer = this.#buffer();
    const before = buffer?.length ?? 0;
    this.#sftp.data(reqid, data);
    if (buffer && buffer.length > before) {
      const tail = buffer[buffer.length - 1]!;
      this.#held.push({ buffer: tail.buffer, start: tail.byteOffset, end: tail.byteOffset + tail.length, handle, dataLength: data.length });
      if (this.#held.length > this.#keep) this.#held = this.#stillHeld().map((f) => f.held);
    } else if (before === 0) this.#held = [];
  }

  /** Data bytes of `handle` that ssh2 still holds for the client's window: handed over, not sent. */
  unsentOf(handle: FileHandle): number {
    return this.#stillHeld().reduce((sum, f) => (f.held.handle === handle ? sum + f.unsent : sum), 0);
  }

  clear(): void {
    this.#held = [];
  }

  /** The held replies ssh2 still holds (whole or their unsent tail), each with its unsent length. */
  #stillHeld(): { held: HeldReply; unsent: number }[] {
    const found: { held: HeldReply; unsent: number }[] = [];
    for (const part of this.#buffer() ?? []) {
      const held = this.#held.find((h) => h.buffer === part.buffer && part.byteOffset >= h.start && part.byteOffset < h.end);
      if (held) found.push({ held, unsent: Math.min(part.length, held.dataLength) });
    }
    return found;
  }

  /** ssh2's buffer of replies waiting for the client's window (a private field, read through ssh2-internals.ts). */
  #buffer(): Buffer[] | undefined {
    return this.#internals._buffer;
  }
}
