import { CommonErrors } from '../../../lib/errors/index.js';
import { errorFromWire, errorToWire, type CallMessage, type ReplyMessage } from './wire.js';

export type CallHandler = (method: string, args: unknown) => Promise<unknown>;

/**
 * Request and reply over one IPC channel, either way: `call` sends a request and resolves with the
 * reply (rejects with the error the other side threw, rebuilt; ERR_GATEWAY_UNAVAILABLE when no
 * reply comes within `timeoutMs` or the channel closes); `receive` answers the other side's.
 *
 * Invariant: every pending call ends once: by its reply, its timer, or `fail` (the channel closed).
 */
export class IpcCalls {
  readonly #send: (message: CallMessage | ReplyMessage) => boolean;
  readonly #handler: CallHandler;
  readonly #pending = new Map<number, { resolve: (value: unknown) => void; reject: (err: Error) => void; timer: NodeJS.Timeout | undefined }>();
  readonly #who: string;
  #next = 0;

  /** `send` returns false when the channel is closed. */
  constructor(who: string, send: (message: CallMessage | ReplyMessage) => boolean, handler: CallHandler) {
    this.#who = who;
    this.#send = send;
    this.#handler = handler;
  }

  call<T>(method: string, args: unknown, timeoutMs: number): Promise<T> {
    const id = ++this.#next;
    return new Promise<T>((resolve, reject) => {
      const timer =
        timeoutMs > 0
          ? setTimeout(() => {
              this.#pending.delete(id);
              reject(CommonErrors.GATEWAY_UNAVAILABLE(`${method}: ${this.#who} did not answer within ${timeoutMs} ms`));
            }, timeoutMs)
          : undefined;
      this.#pending.set(id, { resolve: resolve as (value: unknown) => void, reject, timer });
      if (!this.#send({ type: 'call', id, method, args })) this.#end(id, CommonErrors.GATEWAY_UNAVAILABLE(`${method}: ${this.#who} is gone`));
    });
  }

  /** Handles a message if it is a call or a reply; false otherwise. */
  receive(message: { type: string }): boolean {
    if (message.type === 'reply') {
      const reply = message as ReplyMessage;
      const pending = this.#pending.get(reply.id);
      if (!pending) return true; // timed out meanwhile
      this.#pending.delete(reply.id);
      clearTimeout(pending.timer);
      if (reply.ok) pending.resolve(reply.value);
      else pending.reject(errorFromWire(reply.error));
      return true;
    }
    if (message.type !== 'call') return false;
    const { id, method, args } = message as CallMessage;
    this.#handler(method, args).then(
      (value) => this.#send({ type: 'reply', id, ok: true, value }),
      (err: unknown) => this.#send({ type: 'reply', id, ok: false, error: errorToWire(err) }),
    );
    return true;
  }

  /** The channel closed: every pending call fails. */
  fail(): void {
    for (const id of [...this.#pending.keys()]) this.#end(id, CommonErrors.GATEWAY_UNAVAILABLE(`${this.#who} is gone`));
  }

  #end(id: number, err: Error): void {
    const pending = this.#pending.get(id);
    if (!pending) return;
    this.#pending.delete(id);
    clearTimeout(pending.timer);
    pending.reject(err);
  }
}
