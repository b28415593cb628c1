import type { Socket } from 'node:net';
import ssh2, { type ClientChannel, type ConnectConfig } from 'ssh2';

/** SFTP packet types (draft-ietf-secsh-filexfer-02) a raw client sends and reads. */
export const FXP = { INIT: 1, VERSION: 2, OPEN: 3, CLOSE: 4, READ: 5, STATUS: 101, HANDLE: 102, DATA: 103, EXTENDED_REPLY: 201, EXTENDED: 200 } as const;

/** One reply: its type, and for STATUS its code, for DATA its length, for HANDLE the handle. */
export interface RawReply {
  type: number;
  id: number;
  /** Its place among the replies this client got (0 first). */
  seq: number;
  code?: number;
  message?: string;
  dataLength?: number;
  handle?: Buffer;
  body?: Buffer;
}

/**
 * An SFTP client that writes packets itself over an ssh2 `sftp` subsystem channel: requests are
 * sent without waiting (as pipelining clients do), every reply is counted by request id (a reply
 * that never comes, or comes twice, shows), and the channel can be paused to stop taking replies.
 * Data replies are counted, not kept.
 */
export class RawSftp {
  readonly client: ssh2.Client;
  readonly channel: ClientChannel;
  /** Replies by request id, in the order they came. */
  readonly replies = new Map<number, RawReply[]>();
  /** Extensions the server named in its VERSION. */
  extensions: Record<string, string> = {};
  #nextId = 1;
  #pending: Buffer = Buffer.alloc(0);
  #waiters: { id: number; resolve: (reply: RawReply) => void }[] = [];
  #closed = false;
  replyCount = 0;

  private constructor(client: ssh2.Client, channel: ClientChannel) {
    this.client = client;
    this.channel = channel;
    channel.on('data', (chunk: Buffer) => this.#take(chunk));
    channel.on('close', () => (this.#closed = true));
  }

  static connect(config: ConnectConfig): Promise<RawSftp> {
    return new Promise((resolve, reject) => {
      const client = new ssh2.Client();
      client.on('error', reject);
      client.once('ready', () => {
        client.subsys('sftp', (err, channel) => {
          if (err) return reject(err);
          client.off('error', reject);
          client.on('error', () => {});
          const raw = new RawSftp(client, channel);
          const init = Buffer.alloc(9);
          init.writeUInt32BE(5, 0);
          init[4] = FXP.INIT;
          init.writeUInt32BE(3, 5);
          channel.write(init);
          raw.#waiters.push({ id: 0, resolve: () => resolve(raw) });
        });
      });
      client.connect({ host: '127.0.0.1', readyTimeout: 10_000, ...config });
    });
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** The connection's TCP socket (to hang up abruptly). */
  get socket(): Socket {
    return (this.client as unknown as { _sock: Socket })._sock;
  }

  /** Sends a request of `type` with `body` after its id; returns the id (does not wait). */
  send(type: number, body: Buffer): number {
    const id = this.#nextId++;
    const header = Buffer.alloc(9);
    header.writeUInt32BE(5 + body.length, 0);
    header[4] = type;
    header.writeUInt32BE(id, 5);
    this.channel.write(Buffer.concat([header, body]));
    return id;
  }

  read(handle: Buffer, offset: number, length: number): number {
    const body = Buffer.alloc(4 + handle.length + 12);
    body.writeUInt32BE(handle.length, 0);
    handle.copy(body, 4);
    body.writeBigUInt64BE(BigInt(offset), 4 + handle.length);
    body.writeUInt32BE(length, 12 + handle.length);
    return this.send(FXP.READ, body);
  }

  close(handle: Buffer): number {
    return this.send(FXP.CLOSE, str(handle));
  }

  /** An EXTENDED request named `name` with `data` after the name. */
  extended(name: string, data: Buffer = Buffer.alloc(0)): number {
    return this.send(FXP.EXTENDED, Buffer.concat([str(Buffer.from(name)), data]));
  }

  /** Opens `path` for reading; resolves with the handle (rejects with the status). */
  async open(path: string): Promise<Buffer> {
    const id = this.send(FXP.OPEN, Buffer.concat([str(Buffer.from(path)), u32(1), u32(0)]));
    const reply = await this.reply(id);
    if (reply.type !== FXP.HANDLE) throw new Error(`open ${path}: status ${reply.code} ${reply.message}`);
    return reply.handle!;
  }

  /** The first reply to `id` (waits for it). */
  reply(id: number): Promise<RawReply> {
    const got = this.replies.get(id);
    if (got) return Promise.resolve(got[0]!);
    return new Promise((resolve) => this.#waiters.push({ id, resolve }));
  }

  end(): void {
    this.client.end();
  }

  #take(chunk: Buffer): void {
    this.#pending = this.#pending.length === 0 ? chunk : Buffer.concat([this.#pending, chunk]);
    let p = 0;
    while (this.#pending.length - p >= 4) {
      const length = this.#pending.readUInt32BE(p);
      if (this.#pending.length - p - 4 < length) break;
      this.#packet(this.#pending.subarray(p + 4, p + 4 + length));
      p += 4 + length;
    }
    this.#pending = p === this.#pending.length ? Buffer.alloc(0) : Buffer.from(this.#pending.subarray(p));
  }

  #packet(packet: Buffer): void {
    const type = packet[0]!;
    if (type === FXP.VERSION) {
      let p = 5;
      while (p < packet.length) {
        const name = readString(packet, p);
        const data = readString(packet, name.next);
        this.extensions[name.value.toString()] = data.value.toString();
        p = data.next;
      }
      return this.#resolve({ type, id: 0, seq: -1 });
    }
    const id = packet.readUInt32BE(1);
    const reply: RawReply = { type, id, seq: this.replyCount };
    if (type === FXP.STATUS) {
      reply.code = packet.readUInt32BE(5);
      reply.message = readString(packet, 9).value.toString();
    } else if (type === FXP.DATA) reply.dataLength = packet.readUInt32BE(5);
    else if (type === FXP.HANDLE) reply.handle = Buffer.from(readString(packet, 5).value);
    else reply.body = Buffer.from(packet.subarray(5));
    const list = this.replies.get(id);
    if (list) list.push(reply);
    else this.replies.set(id, [reply]);
    this.replyCount++;
    this.#resolve(reply);
  }

  #resolve(reply: RawReply): void {
    const waiting = this.#waiters.filter((w) => w.id === reply.id);
    if (waiting.length === 0) return;
    this.#waiters = this.#waiters.filter((w) => w.id !== reply.id);
    for (const w of waiting) w.resolve(reply);
  }
}

function u32(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(value, 0);
  return b;
}

function str(value: Buffer): Buffer {
  return Buffer.concat([u32(value.length), value]);
}

function readString(packet: Buffer, at: number): { value: Buffer; next: number } {
  const length = packet.readUInt32BE(at);
  return { value: packet.subarray(at + 4, at + 4 + length), next: at + 4 + length };
}
