/**
 * Splits the control connection's bytes into command lines. ftp-srv splits each TCP chunk on
 * CRLF by itself, so a command cut across two chunks became two broken commands; this buffers
 * instead. Lines end in LF (CRLF or a bare LF), are decoded as UTF-8, and lose telnet IAC
 * sequences (some clients send IP/Synch before ABOR; 0xFF never occurs in UTF-8).
 *
 * Invariant: at most `maxLineBytes` bytes are held; a longer line is an overflow, not a command.
 */
export class ControlLines {
  readonly #maxLineBytes: number;
  #pending: Buffer = Buffer.alloc(0);

  constructor(maxLineBytes: number) {
    this.#maxLineBytes = maxLineBytes;
  }

  /** The complete lines in `chunk` (with what was pending), or 'overflow' when a line is too long. */
  push(chunk: Buffer): string[] | 'overflow' {
    let data = this.#pending.length > 0 ? Buffer.concat([this.#pending, chunk]) : chunk;
    const lines: string[] = [];
    let newline: number;
    while ((newline = data.indexOf(0x0a)) !== -1) {
      if (newline > this.#maxLineBytes) return 'overflow';
      let end = newline;
      if (end > 0 && data[end - 1] === 0x0d) end--;
      lines.push(decode(data.subarray(0, end)));
      data = data.subarray(newline + 1);
    }
    if (data.length > this.#maxLineBytes) return 'overflow';
    this.#pending = Buffer.from(data); // a copy: the chunk is not kept alive
    return lines;
  }

  /** Forgets what is pending (after AUTH TLS: plaintext sent with it must not run as commands). */
  reset(): void {
    this.#pending = Buffer.alloc(0);
  }
}

function decode(bytes: Buffer): string {
  if (bytes.includes(0xff)) {
    const kept: number[] = [];
    for (let i = 0; i < bytes.length; i++) {
      if (bytes[i] === 0xff)
        i++; // IAC and the byte after it
      else kept.push(bytes[i]!);
    }
    bytes = Buffer.from(kept);
  }
  return bytes.toString('utf8');
}
