/**
 * Values that become ready out of order, released in the order their slots were taken. A channel
 * with a chunk-crypto hook puts every packet through one of these per direction, so a packet
 * sealed or opened in a worker still leaves (or is delivered) in sequence order, and a packet done
 * inline never overtakes one still in the pool.
 *
 * Invariant: `#slots` holds, in slot order, every value not yet released; its head is not ready
 * (a ready head is released at once).
 */
export class InOrder<T> {
  readonly #release: (value: T) => void;
  #slots: { ready: boolean; value: T | undefined }[] = [];

  constructor(release: (value: T) => void) {
    this.#release = release;
  }

  /** Values taken and not yet released (waiting, or ready behind one waiting). */
  get size(): number {
    return this.#slots.length;
  }

  /** A value ready now: released at once when nothing waits before it. */
  ready(value: T): void {
    if (this.#slots.length === 0) this.#release(value);
    else this.#slots.push({ ready: true, value });
  }

  /** Takes the next slot; the returned function fills it (once). */
  later(): (value: T) => void {
    const slot: { ready: boolean; value: T | undefined } = { ready: false, value: undefined };
    this.#slots.push(slot);
    const slots = this.#slots;
    return (value: T) => {
      if (slot.ready || slots !== this.#slots) return; // filled already, or cleared since
      slot.ready = true;
      slot.value = value;
      while (this.#slots.length > 0 && (this.#slots[0] as { ready: boolean }).ready) {
        const head = this.#slots.shift() as { value: T };
        this.#release(head.value);
      }
    };
  }

  /** Drops every value not yet released; fills of earlier slots are ignored. */
  clear(): void {
    this.#slots = [];
  }
}
