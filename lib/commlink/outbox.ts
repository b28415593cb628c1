import { Errors } from './errors.js';
import type { SecureChannel } from './secure-channel.js';
import { encodeMessage, type Message } from './tobj/index.js';

/**
 * Coalesces outgoing messages into MESSAGES packets. Messages pushed during one task (a loop of
 * requests, or the replies to one received packet) leave together in packets of up to
 * BATCH_BYTES, so pipelined requests and their
 * replies cost one encryption per batch, not per message.
 *
 * Invariant: messages leave in push order, and `flush()` empties the queue synchronously, so a
 * caller that must order a chunk packet after its request calls flush() first.
 */
/**
 * Batches stop growing past this many bytes. Larger batches would cost more, not less: V8 makes
 * strings over ~128 KiB in its large-object space, where base64 and latin1 conversions run ~10×
 * slower (measured on Node 20: 7 GB/s at 64 KiB, 0.8 GB/s at 128 KiB).
 */
export const BATCH_BYTES = 48 * 1024;

export class Outbox {
  readonly #channel: SecureChannel;
  #parts: Buffer[] = [];
  #bytes = 0;
  /** A flush is queued as a microtask: it runs once the current task (a burst of pushes) ends. */
  #scheduled = false;
  readonly #flushTask = () => {
    if (this.#scheduled) this.flush();
  };

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
    if (this.#bytes > 0 && this.#bytes + encoded.length > BATCH_BYTES) this.flush();
    this.#parts.push(encoded);
    this.#bytes += encoded.length;
    if (!this.#scheduled) {
      this.#scheduled = true;
      queueMicrotask(this.#flushTask);
    }
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#bytes === 0) return;
    const payload = this.#parts.length === 1 ? (this.#parts[0] as Buffer) : Buffer.concat(this.#parts, this.#bytes);
    this.#parts = [];
    this.#bytes = 0;
    if (!this.#channel.closed) this.#channel.sendMessages(payload);
  }

  discard(): void {
    this.#scheduled = false;
    this.#parts = [];
    this.#bytes = 0;
  }
}
