import { Errors } from './errors.js';
import type { SecureChannel } from './secure-channel.js';
import { encodeMessage, type Message } from './tobj/index.js';

/**
 * Coalesces outgoing messages into MESSAGES packets. Messages pushed during one turn of the event
 * loop leave together in as few packets as fit maxPayload, so pipelined requests and their
 * replies cost one encryption per batch, not per message.
 *
 * Invariant: messages leave in push order, and `flush()` empties the queue synchronously, so a
 * caller that must order a chunk packet after its request calls flush() first.
 */
export class Outbox {
  readonly #channel: SecureChannel;
  #parts: Buffer[] = [];
  #bytes = 0;
  #scheduled: NodeJS.Immediate | undefined;

  constructor(channel: SecureChannel) {
    this.#channel = channel;
  }

  /** Encodes and queues a message; throws ERR_TOBJ_* if it cannot be encoded or is too large. */
  push(message: Message): void {
    const encoded = Buffer.from(encodeMessage(message), 'utf8');
    const max = this.#channel.maxPayload;
    if (encoded.length > max) {
      throw Errors.TOBJ_LIMIT(`${message.type} message of ${encoded.length} bytes exceeds the ${max}-byte packet payload`, {
        limit: 'maxPacketLength',
        value: encoded.length,
      });
    }
    if (this.#bytes + encoded.length > max) this.flush();
    this.#parts.push(encoded);
    this.#bytes += encoded.length;
    this.#scheduled ??= setImmediate(() => this.flush());
  }

  flush(): void {
    if (this.#scheduled) {
      clearImmediate(this.#scheduled);
      this.#scheduled = undefined;
    }
    if (this.#bytes === 0) return;
    const payload = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#bytes);
    this.#parts = [];
    this.#bytes = 0;
    if (!this.#channel.closed) this.#channel.sendMessages(payload);
  }

  discard(): void {
    if (this.#scheduled) clearImmediate(this.#scheduled);
    this.#scheduled = undefined;
    this.#parts = [];
    this.#bytes = 0;
  }
}
