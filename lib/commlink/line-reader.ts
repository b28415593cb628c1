import { Errors } from './errors.js';

const CR = 0x0d;
const LF = 0x0a;

/**
 * Splits a byte stream into lines terminated by CR LF, never holding more than
 * `maxLineLength` bytes of an unterminated line (the limit excludes the CR LF).
 * Invariant: `pending` holds the bytes received after the last LF, in order, and their total
 * length `pendingLength` is at most maxLineLength + 1 (a trailing CR may wait for its LF).
 *
 * The rule, exactly (PROTOCOL.md §7): a line is too long when more than maxLineLength + 1 bytes
 * arrive after the previous LF (or the start) with no LF among them, or when a complete line has
 * more than maxLineLength characters before its CR LF; the reader throws as soon as either is seen.
 * The limit may be changed between lines (the channel raises it once the peer's hello is verified).
 */
export class LineReader {
  #maxLineLength: number;
  readonly #onLine: (line: Buffer) => void;
  #pending: Buffer[] = [];
  #pendingLength = 0;

  constructor(maxLineLength: number, onLine: (line: Buffer) => void) {
    this.#maxLineLength = maxLineLength;
    this.#onLine = onLine;
  }

  get maxLineLength(): number {
    return this.#maxLineLength;
  }

  /** Takes effect for the line being read and every later one. */
  set maxLineLength(value: number) {
    this.#maxLineLength = value;
  }

  /** Feeds received bytes; throws a CodedError on an over-long line or a bare LF. The
   *  callback may throw too; the reader then stops and the caller closes the connection. */
  push(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const lf = chunk.indexOf(LF, start);
      if (lf === -1) break;
      let line: Buffer;
      if (this.#pendingLength === 0) {
        line = chunk.subarray(start, lf);
      } else {
        this.#pending.push(chunk.subarray(start, lf));
        line = Buffer.concat(this.#pending, this.#pendingLength + lf - start);
        this.#pending = [];
        this.#pendingLength = 0;
      }
      if (line.length === 0 || line[line.length - 1] !== CR) {
        throw Errors.FRAME_BAD_CHARS('line feed without a preceding carriage return');
      }
      if (line.length - 1 > this.#maxLineLength) this.#tooLong(line.length - 1);
      this.#onLine(line.subarray(0, line.length - 1));
      start = lf + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.length - start;
      if (this.#pendingLength + rest > this.#maxLineLength + 1) this.#tooLong(this.#pendingLength + rest);
      this.#pending.push(start === 0 ? chunk : chunk.subarray(start));
      this.#pendingLength += rest;
    }
  }

  #tooLong(length: number): never {
    this.#pending = [];
    this.#pendingLength = 0;
    throw Errors.FRAME_TOO_LONG(`line of at least ${length} bytes exceeds the maximum packet length ${this.#maxLineLength}`, {
      length,
      max: this.#maxLineLength,
    });
  }
}
