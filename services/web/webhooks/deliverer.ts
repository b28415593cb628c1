import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import * as InternalDb from '../../../lib/contracts/internal-db/index.js';
import type { Change } from '../../../lib/contracts/internal-db/changes.js';
import { isError } from '../../../lib/errors/index.js';
import type { Logger } from '../../../lib/log/logger.js';
import type { InternalDbAsk } from '../internal-db-ask.js';
import { retryDelayMs } from './backoff.js';
import { payloadOf } from './event.js';
import type { WebhookSettings } from './settings.js';
import { signatureHeader } from './signature.js';
import { checkTarget, TargetRefused } from './target.js';
import { sendAttempt, type AttemptResult } from './send.js';

export const USER_AGENT = 'ffs-webhooks/1';

/** How long the change-feed wait asks the internal-db to hold (below MAX_CHANGE_WAIT_MS). */
const FEED_WAIT_MS = 20_000;
/** How many pending changes a worker takes at once. */
const PENDING_BATCH = 100;
/** How often the delivery log is pruned. */
const PRUNE_EVERY_MS = 3_600_000;

export interface DelivererOptions {
  db: InternalDbAsk;
  settings: WebhookSettings;
  log: Logger;
  /** This web host's lease name (default: host name, pid and a random tag). */
  holder?: string;
  /**
   * Follow the change log with a changes.next loop of its own, to wake idle workers (default). Off:
   * the web host's own subscription calls `notify()` on each change instead.
   */
  followChanges?: boolean;
}

/** A sleep that ends early when `signal` aborts or `wake` is called. */
function pause(ms: number, signal: AbortSignal, wakers?: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      wakers?.delete(done);
      resolve();
    };
    // Unref'd: a deliverer never keeps the process alive by itself.
    const timer = setTimeout(done, ms).unref();
    signal.addEventListener('abort', done);
    wakers?.add(done);
    if (signal.aborted) done();
  });
}

/** `promise`, or a rejection as soon as `signal` aborts (the request itself runs on, its answer ignored). */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(new Error('closing'));
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(new Error('closing'));
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
  });
}

/**
 * One endpoint's delivery, while this web host holds its lease: the pending changes in sequence
 * order, one in flight; a change is retried (back-off with jitter) until a 2xx, and only then is
 * the next one sent (in order per endpoint). Every attempt is reported to the internal-db, which
 * logs it, advances the cursor on a 2xx, and disables the endpoint once it has failed for
 * giveUpSeconds. It stops when the lease is lost, the endpoint is disabled or deleted, or the
 * deliverer closes; whoever takes the lease over resumes after the cursor (at least once: a
 * change sent but not yet reported is sent again, with the same id and body).
 *
 * Two ways to stop: `finish` (a graceful close) lets the attempt in flight end and be reported,
 * then stops; `stop` also cuts the attempt and the requests in flight off.
 */
class EndpointWorker {
  readonly id: number;
  leasedUntil: number;
  /** Aborted: start nothing more. */
  readonly #halt = new AbortController();
  /** Aborted: cut off what is in flight too. */
  readonly #abort = new AbortController();
  readonly #d: WebhookDeliverer;
  readonly done: Promise<void>;
  #endpoint: InternalDb.LeasedWebhook;

  constructor(d: WebhookDeliverer, endpoint: InternalDb.LeasedWebhook, leasedUntil: number) {
    this.#d = d;
    this.id = endpoint.id;
    this.#endpoint = endpoint;
    this.leasedUntil = leasedUntil;
    // A worker that fails unexpectedly stops (logged); the next lease renewal starts a new one.
    this.done = this.#run().catch((err: unknown) => {
      d.log.error('webhook worker failed', { webhook: this.id, err });
      this.stop();
    });
  }

  get stopped(): boolean {
    return this.#halt.signal.aborted;
  }

  /** The endpoint as the newest lease reply says (its URL and kinds may not change, but its secret is read here). */
  update(endpoint: InternalDb.LeasedWebhook, leasedUntil: number): void {
    this.#endpoint = endpoint;
    this.leasedUntil = leasedUntil;
  }

  /** Stops once the attempt in flight (if any) has ended and been reported. */
  finish(): void {
    this.#halt.abort();
  }

  stop(): void {
    this.#halt.abort();
    this.#abort.abort();
  }

  async #run(): Promise<void> {
    const halt = this.#halt.signal;
    const signal = this.#abort.signal;
    const d = this.#d;
    while (!halt.aborted) {
      if (Date.now() >= this.leasedUntil) return this.stop();
      const generation = d.generation;
      let pending;
      try {
        pending = await unlessAborted(d.db.ask(InternalDb.webhookPending, { holder: d.holder, id: this.id, limit: PENDING_BATCH }), signal);
      } catch (err) {
        if (this.#lost(err)) return;
        await pause(1000, halt);
        continue;
      }
      for (const change of pending.changes) {
        if (halt.aborted || !(await this.#deliver(change))) return this.stop();
      }
      if (pending.changes.length > 0) continue;
      if (pending.scannedTo > this.#endpoint.cursor) {
        try {
          const r = await unlessAborted(
            d.db.ask(InternalDb.webhookReport, { holder: d.holder, id: this.id, seq: pending.scannedTo, outcome: 'skipped' }),
            signal,
          );
          this.#endpoint = { ...this.#endpoint, cursor: r.cursor };
        } catch (err) {
          if (this.#lost(err)) return;
        }
      }
      await d.idle(halt, generation);
    }
  }

  /** Delivers one change until a 2xx; false when this worker is to stop (lease lost, disabled, closing). */
  async #deliver(change: Change): Promise<boolean> {
    const d = this.#d;
    const halt = this.#halt.signal;
    const signal = this.#abort.signal;
    const event = change.kind as InternalDb.WebhookEvent;
    const body = payloadOf(change, event);
    for (let attempt = 1; !halt.aborted; attempt++) {
      if (Date.now() >= this.leasedUntil) return false;
      const result = await this.#attempt(body, event, change.seq, signal);
      if (signal.aborted) return false;
      let reply;
      try {
        reply = await unlessAborted(
          d.db.ask(InternalDb.webhookReport, {
            holder: d.holder,
            id: this.id,
            seq: change.seq,
            outcome: result.ok ? 'delivered' : 'failed',
            event,
            attempt,
            status: result.status,
            error: result.error?.slice(0, 512) ?? null,
            durationMs: result.durationMs,
            giveUpMs: d.settings.giveUpSeconds * 1000,
          }),
          signal,
        );
      } catch (err) {
        // Not recorded: it is sent again (at least once), by this worker or whoever takes over.
        if (this.#lost(err)) return false;
        await pause(1000, halt);
        continue;
      }
      if (!reply.enabled) {
        d.log.warn('webhook endpoint disabled: it failed for too long', { webhook: this.id, url: this.#endpoint.url, error: result.error });
        return false;
      }
      if (result.ok) {
        this.#endpoint = { ...this.#endpoint, cursor: reply.cursor };
        return true;
      }
      await pause(retryDelayMs(attempt, d.settings.retryMinMs, d.settings.retryMaxMs), halt);
    }
    return false;
  }

  async #attempt(body: string, event: string, seq: number, signal: AbortSignal): Promise<AttemptResult> {
    const d = this.#d;
    const started = Date.now();
    let target;
    try {
      target = await checkTarget(this.#endpoint.url, d.settings);
    } catch (err) {
      if (!(err instanceof TargetRefused)) throw err;
      return { ok: false, status: null, error: `target refused: ${err.message}`, durationMs: Date.now() - started };
    }
    const timestamp = Math.floor(Date.now() / 1000);
    const headers = {
      'Content-Type': 'application/json',
      'User-Agent': USER_AGENT,
      'X-FFS-Event': event,
      'X-FFS-Delivery': String(seq),
      'X-FFS-Signature': signatureHeader(this.#endpoint.secret, timestamp, body),
    };
    // Never past the lease: another host may take the endpoint over when it ends.
    const timeoutMs = Math.max(1, Math.min(d.settings.timeoutMs, this.leasedUntil - Date.now()));
    return sendAttempt(target, body, headers, timeoutMs, signal);
  }

  /** True (and stopped) when the error says the lease is gone or the endpoint is (ERR_CONFLICT, ERR_NOT_FOUND). */
  #lost(err: unknown): boolean {
    if (isError(err, InternalDb.InternalDbErrors.CONFLICT) || isError(err, InternalDb.InternalDbErrors.NOT_FOUND)) {
      this.stop();
      return true;
    }
    return this.#halt.signal.aborted;
  }
}

/**
 * The web host's webhook deliverer: it leases endpoints from the internal-db (renewing every
 * third of leaseSeconds; an endpoint is delivered by one web host at a time, and a dead host's
 * endpoints are taken over when its leases expire), runs one worker per leased endpoint, and
 * follows the change log (a chain of changes.next long waits) to wake idle workers as soon as a
 * change is recorded.
 */
export class WebhookDeliverer {
  readonly db: InternalDbAsk;
  readonly settings: WebhookSettings;
  readonly log: Logger;
  readonly holder: string;
  readonly #workers = new Map<number, EndpointWorker>();
  readonly #wakers = new Set<() => void>();
  readonly #abort = new AbortController();
  #loops: Promise<void>[] = [];
  readonly #followChanges: boolean;
  /** Wakes the change-log loop when the first worker starts (it waits only while some endpoint is held). */
  readonly #feedWakers = new Set<() => void>();
  #generation = 0;

  constructor(options: DelivererOptions) {
    this.db = options.db;
    this.settings = options.settings;
    this.log = options.log.child({ part: 'webhooks' });
    this.#followChanges = options.followChanges ?? true;
    this.holder =
      options.holder ??
      `${hostname()
        .replace(/[^A-Za-z0-9._-]/g, '-')
        .slice(0, 64)}:${process.pid}:${randomBytes(4).toString('hex')}`;
  }

  /** Starts leasing, delivering and following the change log. */
  start(): void {
    this.#loops = [this.#leaseLoop(), this.#pruneLoop()];
    if (this.#followChanges) this.#loops.push(this.#feedLoop());
  }

  /** Endpoints this web host delivers to now (their ids). */
  get leased(): number[] {
    return [...this.#workers.keys()];
  }

  /**
   * Stops delivering: attempts in flight get `graceMs` to end and be reported (then they are cut
   * off, and whoever takes the endpoint over sends them again), then the leases are given back so
   * that another web host takes over at once.
   */
  async close(graceMs = 5000): Promise<void> {
    if (this.#abort.signal.aborted) return;
    this.#abort.abort();
    const workers = [...this.#workers.values()];
    for (const w of workers) w.finish();
    const all = Promise.all(workers.map((w) => w.done));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([all, new Promise((resolve) => (timer = setTimeout(resolve, graceMs)))]);
    clearTimeout(timer);
    for (const w of workers) w.stop();
    await Promise.all([...this.#loops, all]);
    this.#workers.clear();
    if (this.db.connected) await this.db.ask(InternalDb.webhookRelease, { holder: this.holder }, 2000).catch(() => {});
  }

  /** Waits until a change is recorded after notification `since` (or a while: a safety net). */
  idle(signal: AbortSignal, since: number): Promise<void> {
    if (this.#generation !== since) return Promise.resolve();
    return pause((this.settings.leaseSeconds * 1000) / 3, signal, this.#wakers);
  }

  /** A change was recorded: idle workers look for what to deliver now. */
  notify(): void {
    this.#generation++;
    for (const wake of [...this.#wakers]) wake();
  }

  /** Counts notifications: a worker that read its pending changes at generation g and sees g+1 reads again at once (no lost wake-up). */
  get generation(): number {
    return this.#generation;
  }

  async #leaseLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const ttlMs = this.settings.leaseSeconds * 1000;
    while (!signal.aborted) {
      const asked = Date.now();
      try {
        if (this.db.connected) {
          const { webhooks } = await unlessAborted(this.db.ask(InternalDb.webhookLease, { holder: this.holder, ttlMs }), signal);
          if (signal.aborted) break;
          const until = asked + ttlMs;
          const held = new Set<number>();
          for (const endpoint of webhooks) {
            held.add(endpoint.id);
            const worker = this.#workers.get(endpoint.id);
            if (worker && !worker.stopped) worker.update(endpoint, until);
            else {
              this.#workers.set(endpoint.id, new EndpointWorker(this, endpoint, until));
              for (const wake of [...this.#feedWakers]) wake();
              this.log.info('delivering to a webhook endpoint', { webhook: endpoint.id, holder: this.holder });
            }
          }
          for (const [id, worker] of this.#workers) {
            if (!held.has(id)) worker.stop();
            if (worker.stopped) this.#workers.delete(id);
          }
        }
      } catch (err) {
        this.log.warn('webhook lease renewal failed', { err });
      }
      // Workers whose lease ran out locally stop by themselves; forget them.
      for (const [id, worker] of this.#workers) if (worker.stopped) this.#workers.delete(id);
      await pause(ttlMs / 3, signal);
    }
  }

  async #feedLoop(): Promise<void> {
    const signal = this.#abort.signal;
    let after = -1;
    while (!signal.aborted) {
      try {
        if (!this.db.connected) {
          await pause(500, signal);
          continue;
        }
        // No long wait in flight while no endpoint is held here (most web hosts, most of the time).
        if (this.#workers.size === 0) {
          after = -1;
          await pause(60_000, signal, this.#feedWakers);
          continue;
        }
        if (after < 0) {
          after = (await unlessAborted(this.db.ask(InternalDb.changesNext, { after: 0, limit: 1, waitMs: 0 }), signal)).head;
          continue;
        }
        // Only whether something changed matters here (workers read what): one change, then on from the head.
        const next = await unlessAborted(this.db.ask(InternalDb.changesNext, { after, limit: 1, waitMs: FEED_WAIT_MS }, FEED_WAIT_MS + 15_000), signal);
        if (next.reset || next.changes.length > 0) {
          after = next.head;
          this.notify();
        }
      } catch {
        await pause(1000, signal);
      }
    }
  }

  async #pruneLoop(): Promise<void> {
    const signal = this.#abort.signal;
    const keepMs = this.settings.keepDeliveriesDays * 86_400_000;
    await pause(5000, signal);
    while (!signal.aborted) {
      if (this.db.connected) await unlessAborted(this.db.ask(InternalDb.webhookPrune, { keepMs }), signal).catch(() => {});
      await pause(PRUNE_EVERY_MS, signal);
    }
  }
}
