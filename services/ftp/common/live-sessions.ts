import { randomBytes } from 'node:crypto';
import type { LiveSession, LiveProtocol } from '../../../lib/contracts/file-host/operations.js';

/**
 * The live FTP and SFTP sessions and HTTP downloads of one process, for `sessions.list` and
 * `session.end` (lib/contracts/file-host/operations.ts) and the file host's metrics. FTP and SFTP
 * sessions are here from login until their connection closes; an HTTP download from its first
 * body byte until its response ends. Worker processes keep their own (ids carry the worker's pid)
 * and answer the file host over IPC (WorkerLiveSessions below).
 *
 * Invariant: a session's id is unique among every session this host has had, across restarts and
 * worker replacements (a random scope per registry, a counter that never goes back), so an id
 * listed before a restart never ends another session after it; `close()` takes it out once.
 */

export type { LiveSession, LiveProtocol };

/** Seconds over which the current rate is measured. */
const RATE_WINDOW_S = 5;

/** Bytes per second over the last few seconds: one bucket per second, the oldest dropped as time moves on. */
class RateMeter {
  readonly #buckets = new Float64Array(RATE_WINDOW_S);
  #second = Math.floor(Date.now() / 1000);

  add(bytes: number, now: number): void {
    this.#advance(Math.floor(now / 1000));
    this.#buckets[this.#second % RATE_WINDOW_S]! += bytes;
  }

  /** The rate over the window (or since `startedMs`, when that is shorter). */
  rate(now: number, startedMs: number): number {
    this.#advance(Math.floor(now / 1000));
    let total = 0;
    for (const b of this.#buckets) total += b;
    const window = RATE_WINDOW_S - 1 + (now % 1000) / 1000;
    const seconds = Math.max(0.001, Math.min(window, (now - startedMs) / 1000));
    return Math.round(total / seconds);
  }

  #advance(second: number): void {
    if (second <= this.#second) return;
    if (second - this.#second >= RATE_WINDOW_S) this.#buckets.fill(0);
    else for (let s = this.#second + 1; s <= second; s++) this.#buckets[s % RATE_WINDOW_S] = 0;
    this.#second = second;
  }
}

export interface LiveSessionStart {
  customer: string;
  protocol: LiveProtocol;
  clientAddress: string;
  /** The file being sent from the start (HTTP), if any. */
  file?: string;
  /** Ends the session now (FTP 421 and close, SSH disconnect, HTTP response cut), telling the client `reason` where it can be told. */
  end(reason: string): void;
}

/** One live session as the protocol code holds it: what it sends, as it sends it. */
export interface LiveSessionHandle {
  readonly id: string;
  /** A file is being sent (its path in the area). */
  reading(path: string): void;
  /** Bytes sent (to the socket, or to the SSH channel). */
  progress(bytes: number): void;
  /** The file (or, without a path, whatever file) is no longer being sent. */
  idle(path?: string): void;
  /** The session has ended: it leaves the registry. Idempotent. */
  close(): void;
}

interface Entry {
  start: LiveSessionStart;
  startedMs: number;
  file: string | null;
  bytes: number;
  meter: RateMeter;
}

export class LiveSessions {
  readonly #scope: string;
  readonly #entries = new Map<string, Entry>();
  #next = 1;

  /** `prefix` marks whose ids these are (`w` in a worker process); a random part makes them this registry's own. */
  constructor(prefix = '') {
    this.#scope = `${prefix}${randomBytes(3).toString('hex')}`;
  }

  open(start: LiveSessionStart): LiveSessionHandle {
    const id = `${start.protocol}-${this.#scope}-${this.#next++}`;
    const entry: Entry = { start, startedMs: Date.now(), file: start.file ?? null, bytes: 0, meter: new RateMeter() };
    this.#entries.set(id, entry);
    return {
      id,
      reading: (path) => void (entry.file = path),
      progress: (bytes) => {
        entry.bytes += bytes;
        entry.meter.add(bytes, Date.now());
      },
      idle: (path) => {
        if (path === undefined || entry.file === path) entry.file = null;
      },
      close: () => void this.#entries.delete(id),
    };
  }

  list(): LiveSession[] {
    const now = Date.now();
    return [...this.#entries].map(([id, e]) => ({
      id,
      customer: e.start.customer,
      protocol: e.start.protocol,
      clientAddress: e.start.clientAddress,
      file: e.file,
      bytes: e.bytes,
      rate: e.meter.rate(now, e.startedMs),
      startedAt: new Date(e.startedMs).toISOString(),
      elapsedMs: now - e.startedMs,
    }));
  }

  /** Ends the session `id`; false when there is none here. */
  end(id: string, reason: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    entry.start.end(reason);
    return true;
  }
}

/** What the file host asks a worker, and what the worker answers (part of each worker kind's IPC messages). */
export type LiveToWorker = { type: 'live.list'; id: number } | { type: 'live.end'; id: number; session: string; reason: string };
export type LiveFromWorker = { type: 'live.listed'; id: number; sessions: LiveSession[] } | { type: 'live.ended'; id: number; found: boolean };

/** In a worker: answers the file host's questions about its live sessions; false for any other message. */
export function answerLive(message: { type: string }, live: LiveSessions, send: (reply: LiveFromWorker) => void): boolean {
  const m = message as LiveToWorker;
  if (m.type === 'live.list') send({ type: 'live.listed', id: m.id, sessions: live.list() });
  else if (m.type === 'live.end') send({ type: 'live.ended', id: m.id, found: live.end(m.session, m.reason) });
  else return false;
  return true;
}

/** How long the file host waits for its workers' answers; a worker that has not answered by then is left out. */
const WORKER_ANSWER_MS = 1000;

interface Asking {
  expected: number;
  answers: LiveFromWorker[];
  done: () => void;
}

/**
 * In the file host: the live sessions of a kind of worker, asked of every worker over IPC on
 * demand (nothing is sent while nobody asks). A worker that does not answer within a second (busy,
 * or just dying) is left out of that answer.
 */
export class WorkerLiveSessions {
  readonly #broadcast: (message: LiveToWorker) => void;
  readonly #workers: () => number;
  readonly #asking = new Map<number, Asking>();
  #next = 1;

  /** `broadcast` sends to every running worker; `workers` says how many run now (how many answers to wait for). */
  constructor(broadcast: (message: LiveToWorker) => void, workers: () => number) {
    this.#broadcast = broadcast;
    this.#workers = workers;
  }

  async list(): Promise<LiveSession[]> {
    const answers = await this.#ask((id) => ({ type: 'live.list', id }));
    return answers.flatMap((a) => (a.type === 'live.listed' ? a.sessions : []));
  }

  async end(session: string, reason: string): Promise<boolean> {
    const answers = await this.#ask((id) => ({ type: 'live.end', id, session, reason }));
    return answers.some((a) => a.type === 'live.ended' && a.found);
  }

  /** A worker's message: true when it was an answer to one of these questions. */
  onMessage(message: { type: string }): boolean {
    const m = message as LiveFromWorker;
    if (m.type !== 'live.listed' && m.type !== 'live.ended') return false;
    const asking = this.#asking.get(m.id);
    if (asking) {
      asking.answers.push(m);
      if (asking.answers.length >= asking.expected) asking.done();
    }
    return true;
  }

  #ask(make: (id: number) => LiveToWorker): Promise<LiveFromWorker[]> {
    const expected = this.#workers();
    if (expected === 0) return Promise.resolve([]);
    const id = this.#next++;
    return new Promise((resolve) => {
      const asking: Asking = {
        expected,
        answers: [],
        done: () => {
          clearTimeout(timer);
          this.#asking.delete(id);
          resolve(asking.answers);
        },
      };
      const timer = setTimeout(() => asking.done(), WORKER_ANSWER_MS);
      this.#asking.set(id, asking);
      this.#broadcast(make(id));
    });
  }
}
