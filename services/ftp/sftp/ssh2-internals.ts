import type { SFTPWrapper } from 'ssh2';

/**
 * The parts of ssh2's SFTP server object (lib/protocol/SFTP.js, ssh2 1.17) used here that it does
 * not expose, read in this one place: how it takes the client's bytes (`push`, called by the
 * connection for each CHANNEL_DATA; a `false` return stops the window adjust), the replies it holds
 * for the client's window (`_buffer`), and the channel's windows.
 */
export interface Ssh2Sftp {
  push(data: Buffer | null): boolean | undefined;
  /** Replies (or their tails) waiting for the client's window, oldest first. */
  _buffer: Buffer[];
  /** -1 until the client's INIT. */
  _version: number;
  /** Set by the connection when `push` returned false: the window was not adjusted. */
  _waitChanDrain?: boolean;
  /** Armed by ssh2 (its drain of `_buffer`) when the client's window shuts; called when it opens. */
  _chunkcb: (() => void) | undefined;
  incoming: { window: number; state: string };
  outgoing: { id: number; window: number; packetSize: number; state: string };
  _protocol: Ssh2Protocol;
  _client: { _protocol: Ssh2Protocol };
}

interface Ssh2Protocol {
  channelData(id: number, data: Buffer): void;
  channelWindowAdjust(id: number, amount: number): void;
}

/** ssh2's channel window (lib/Channel.js MAX_WINDOW) and the level at which it tops it up. */
const MAX_WINDOW = 2 * 1024 * 1024;
const WINDOW_THRESHOLD = MAX_WINDOW / 2;

export function ssh2Sftp(sftp: SFTPWrapper): Ssh2Sftp {
  const s = sftp as unknown as Partial<Ssh2Sftp>;
  if (typeof s.push !== 'function' || !Array.isArray(s._buffer) || !('_chunkcb' in s) || !s.incoming || !s.outgoing || !s._protocol || !s._client)
    throw new Error('ssh2 SFTP object without push/_buffer/_chunkcb/windows: the SFTP session cannot steer it (ssh2 changed)');
  return s as Ssh2Sftp;
}

/**
 * Calls `opened` each time ssh2 has sent what it held for the client's window (the window opened:
 * ssh2 calls its armed `_chunkcb`, which sends from `_buffer`). ssh2 has no drain event for SFTP.
 */
export function onWindowOpen(sftp: Ssh2Sftp, opened: () => void): void {
  let armed: (() => void) | undefined = sftp._chunkcb;
  Object.defineProperty(sftp, '_chunkcb', {
    configurable: true,
    get: () => armed,
    set: (drain: (() => void) | undefined) => {
      armed =
        drain &&
        function (this: Ssh2Sftp) {
          drain.call(this);
          opened();
        };
    },
  });
}

/**
 * Sends a whole SFTP packet (length prefix included) the way ssh2 sends its own replies: after the
 * replies it holds for the client's window (its drain sends whatever it holds, in order), or at
 * once when the window has room. Returns false when neither is possible yet (nothing held, the
 * window too small): try again later. A channel no longer open takes nothing (true).
 */
export function sendPacket(sftp: Ssh2Sftp, packet: Buffer): boolean {
  const { outgoing } = sftp;
  if (outgoing.state !== 'open') return true;
  // ssh2 holds replies only once the window is shut, and then its drain is armed (`_chunkcb`).
  if (sftp._buffer.length > 0) {
    sftp._buffer.push(packet);
    return true;
  }
  if (outgoing.window < packet.length || outgoing.packetSize < packet.length) return false;
  outgoing.window -= packet.length;
  sftp._protocol.channelData(outgoing.id, packet);
  return true;
}

/**
 * The client's requests, taken from the channel only while the session wants more: paused, the
 * bytes the client sends are held (unparsed) and the channel's window is not adjusted, so the
 * client can send at most one window (2 MiB) ahead and then waits; resumed, the held bytes are
 * parsed and the window opens again. Also adds `extensions` to ssh2's VERSION reply (it offers none).
 *
 * Invariant: bytes reach ssh2's parser in the order they came, the channel's EOF after them; a
 * channel closed by the client drops what is held (no reply can be sent).
 */
export class RequestIntake {
  readonly #sftp: Ssh2Sftp;
  readonly #parse: (data: Buffer | null) => unknown;
  readonly #extensions: Buffer;
  #held: (Buffer | null)[] = [];
  #heldBytes = 0;
  #paused = false;

  constructor(sftp: Ssh2Sftp, extensions: Record<string, string> = {}) {
    this.#sftp = sftp;
    this.#parse = sftp.push.bind(sftp);
    this.#extensions = Buffer.concat(Object.entries(extensions).flatMap(([name, data]) => [sshString(name), sshString(data)]));
    sftp.push = (data) => this.#take(data);
  }

  get paused(): boolean {
    return this.#paused;
  }

  /** Bytes the client sent that wait, unparsed, for the session to want more. */
  get heldBytes(): number {
    return this.#heldBytes;
  }

  pause(): void {
    this.#paused = true;
  }

  /** Parses what is held until paused again; with nothing held, lets the client send again. */
  resume(): void {
    if (!this.#paused) return;
    this.#paused = false;
    while (!this.#paused && this.#held.length > 0) {
      const data = this.#held.shift()!;
      this.#heldBytes -= data?.length ?? 0;
      this.#deliver(data);
    }
    if (!this.#paused) this.#openWindow();
  }

  /** ssh2's `push`: false tells the connection not to adjust the window (it leaves that to #openWindow). */
  #take(data: Buffer | null): boolean | undefined {
    if (data === null && this.#sftp.incoming.state === 'closed') {
      this.#held = []; // the client closed the channel: nothing can be answered
      this.#heldBytes = 0;
      this.#parse(null);
      return undefined;
    }
    if (this.#paused || this.#held.length > 0) {
      this.#held.push(data);
      this.#heldBytes += data?.length ?? 0;
      return false;
    }
    this.#deliver(data);
    return this.#paused ? false : undefined;
  }

  #deliver(data: Buffer | null): void {
    if (data !== null && this.#sftp._version === -1 && this.#extensions.length > 0) this.#announcing(() => this.#parse(data));
    else this.#parse(data);
  }

  /** Runs `parse` (the client's INIT) with ssh2's VERSION reply (5 bytes of payload: type, version) given the extensions. */
  #announcing(parse: () => void): void {
    const sftp = this.#sftp;
    const protocol = sftp._protocol;
    const extra = this.#extensions;
    sftp._protocol = new Proxy(protocol, {
      get: (target, key) => {
        if (key === 'channelData')
          return (id: number, data: Buffer) => {
            if (data.length !== 9 || data[4] !== 2 || sftp.outgoing.window < extra.length) return target.channelData(id, data);
            const version = Buffer.concat([data, extra]);
            version.writeUInt32BE(version.length - 4, 0);
            sftp.outgoing.window -= extra.length; // ssh2 took the bare VERSION's length off already
            target.channelData(id, version);
          };
        const value = Reflect.get(target, key) as unknown;
        return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      },
    });
    try {
      parse();
    } finally {
      sftp._protocol = protocol;
    }
  }

  /** What ssh2 does when a channel's reader takes more (lib/Channel.js windowAdjust), for a `push` that returned false. */
  #openWindow(): void {
    const sftp = this.#sftp;
    if (!sftp._waitChanDrain) return;
    sftp._waitChanDrain = false;
    if (sftp.incoming.window > WINDOW_THRESHOLD || sftp.outgoing.state === 'closed') return;
    const amount = MAX_WINDOW - sftp.incoming.window;
    sftp.incoming.window += amount;
    sftp._client._protocol.channelWindowAdjust(sftp.outgoing.id, amount);
  }
}

function sshString(value: string): Buffer {
  const bytes = Buffer.from(value);
  const out = Buffer.allocUnsafe(4 + bytes.length);
  out.writeUInt32BE(bytes.length, 0);
  bytes.copy(out, 4);
  return out;
}
