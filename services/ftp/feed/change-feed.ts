import { changesNext, type Change } from '../../../lib/contracts/internal-db/changes.js';
import type { ReplyOut } from '../../../lib/contracts/operation.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { WebLink } from '../common/web-link.js';
import type { FeedState, FeedStateFile } from './feed-state.js';

/** How long one `changes.next` waits at the internal-db for a change (below MAX_CHANGE_WAIT_MS). */
export const FEED_WAIT_MS = 20_000;
/** Changes asked for at once. */
const BATCH = 500;
/**
 * After a failed ask (not a dropped link; typically the web host answering that the internal-db is
 * out of reach): the pause before the next, doubled up to the maximum. The maximum is short, so the
 * feed resumes within a second of the internal-db's return; an ask that fails fast costs the web
 * host nothing (it refuses at once while its own link is down).
 */
const RETRY_MIN_MS = 100;
const RETRY_MAX_MS = 1000;

/** What the file host does with the feed (FeedApplier in apply-change.ts). */
export interface ChangeTarget {
  /** Applies one change (in sequence order; at most once per process). */
  apply(change: Change): Promise<void>;
  /** Changes were lost (pruned from the log, or the log is behind this host): drop every cache, re-sync. */
  reset(firstStart: boolean): Promise<void>;
  /** The state to persist with `seq` (the ticket cut-offs). */
  state(seq: number): FeedState;
}

export interface ChangeFeedOptions {
  link: Pick<WebLink, 'ask' | 'waitConnected'>;
  target: ChangeTarget;
  stateFile: FeedStateFile;
  log: Logger;
  /** The last change applied before this process started (from the state file); undefined: never followed. */
  startAfter: number | undefined;
  waitMs?: number;
}

/**
 * The file host follows the internal-db's change feed through its web host: one `changes.next`
 * long wait in flight while the link is up, resuming from the last sequence applied after a link
 * drop, a web host restart or its own restart (the state file). Changes are applied one by one in
 * order, each at most once per process (`#seq` only moves forward); the state is written after each
 * batch, so a crash re-applies at most one batch (every change is harmless to apply twice). A
 * `reset` answer (the changes after `#seq` are gone, or the log is behind) drops every cache and
 * continues from the head. A file host that never followed the feed starts at its head.
 */
export class ChangeFeed {
  readonly #o: ChangeFeedOptions;
  #seq: number;
  #closed = false;
  #loop: Promise<void> | undefined;
  #retryMs = RETRY_MIN_MS;
  #wake: (() => void) | undefined;
  readonly #appliedListeners = new Set<(seq: number) => void>();

  constructor(options: ChangeFeedOptions) {
    this.#o = options;
    this.#seq = options.startAfter ?? 0;
  }

  /** The last sequence applied. */
  get seq(): number {
    return this.#seq;
  }

  start(): void {
    this.#loop ??= this.#run().catch((err: unknown) => this.#o.log.error('change feed stopped', { err }));
  }

  /** Resolves once every change up to `seq` is applied (tests, and callers that made a change). */
  applied(seq: number, timeoutMs = 10_000): Promise<boolean> {
    if (this.#seq >= seq) return Promise.resolve(true);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.#appliedListeners.delete(listener);
        resolve(ok);
      };
      const listener = (at: number) => at >= seq && done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.#appliedListeners.add(listener);
    });
  }

  /**
   * Stops following; resolves when the loop has ended (a long wait in flight ends when the link
   * closes: close the link after calling this, then await it).
   */
  async close(): Promise<void> {
    this.#closed = true;
    this.#wake?.();
    await this.#loop;
  }

  async #run(): Promise<void> {
    const { link, log } = this.#o;
    let firstStart = this.#o.startAfter === undefined;
    while (!this.#closed) {
      try {
        await link.waitConnected(60_000);
      } catch {
        if (this.#closed) return;
        await this.#pause(); // still dialling
        continue;
      }
      if (this.#closed) return;
      let reply: ReplyOut<typeof changesNext>;
      try {
        if (firstStart) {
          // Never followed the feed: nothing here was made from it, so start at its head.
          reply = await link.ask(changesNext, { after: 0, limit: 1, waitMs: 0 });
          firstStart = false;
          await this.#reset(reply.head, true);
          continue;
        }
        const waitMs = this.#o.waitMs ?? FEED_WAIT_MS;
        reply = await link.ask(changesNext, { after: this.#seq, limit: BATCH, waitMs }, waitMs + 20_000);
      } catch (err) {
        if (this.#closed) return;
        log.debug('change feed: asking again', { after: this.#seq, err });
        await this.#pause();
        continue;
      }
      this.#retryMs = RETRY_MIN_MS;
      if (reply.reset) {
        log.warn('change feed reset: changes were missed; caches dropped, areas of live sessions re-synced', { after: this.#seq, head: reply.head });
        await this.#reset(reply.head, false);
        continue;
      }
      for (const change of reply.changes) {
        if (this.#closed) return;
        if (change.seq <= this.#seq) continue; // at most once per process
        try {
          await this.#o.target.apply(change);
        } catch (err) {
          log.error('change not fully applied', { seq: change.seq, kind: change.kind, err });
        }
        this.#advance(change.seq);
      }
      if (reply.changes.length > 0) await this.#o.stateFile.write(this.#o.target.state(this.#seq));
    }
  }

  async #reset(head: number, firstStart: boolean): Promise<void> {
    try {
      await this.#o.target.reset(firstStart);
    } catch (err) {
      this.#o.log.error('change feed reset not fully applied', { err });
    }
    this.#seq = head; // even backwards: the log was restored from an older copy
    this.#advance(head);
    await this.#o.stateFile.write(this.#o.target.state(this.#seq));
  }

  #advance(seq: number): void {
    this.#seq = seq;
    for (const listener of [...this.#appliedListeners]) listener(seq);
  }

  async #pause(): Promise<void> {
    const ms = this.#retryMs;
    this.#retryMs = Math.min(RETRY_MAX_MS, this.#retryMs * 2);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.#wake = undefined;
  }
}
