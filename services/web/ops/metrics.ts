import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export type AuthMethod = 'password' | 'token' | 'session';
export type AuthOutcome = 'ok' | 'refused' | 'rate_limited' | 'unavailable';

/**
 * The web host's metrics, in one registry of its own (several web hosts may live in one process in
 * tests), served at /metrics in Prometheus text format: requests, bytes, staging time, commlink
 * latency, auth outcomes, the change feed, and the process's own (event-loop delay, memory, CPU).
 */
export class WebMetrics {
  readonly registry = new Registry();
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #duration: Histogram<'method' | 'route'>;
  readonly #bytesOut: Counter<'route'>;
  readonly #uploadBytes: Counter;
  readonly #staging: Histogram<'outcome'>;
  readonly #commlink: Histogram<'peer' | 'op' | 'outcome'>;
  readonly #auth: Counter<'method' | 'outcome'>;
  readonly #changeSeq: Gauge;
  readonly #changeResets: Counter;
  readonly fileHosts: Gauge;
  readonly internalDbUp: Gauge;

  /** Requests answered by this worker process (only in a web worker: services.web.workers ≥ 2). */
  readonly #workerRequests: Counter<'worker'> | undefined;
  readonly #worker: string | undefined;

  /** `worker`: the id of the web worker process these are the metrics of (absent: the web host's own process). */
  constructor(options: { worker?: number } = {}) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 10 });
    this.#requests = new Counter({
      name: 'ffs_web_http_requests_total',
      help: 'HTTP requests answered, by method, route and status.',
      labelNames: ['method', 'route', 'status'],
      registers,
    });
    this.#duration = new Histogram({
      name: 'ffs_web_http_request_duration_seconds',
      help: 'Time to answer an HTTP request (until the response is written).',
      labelNames: ['method', 'route'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30],
      registers,
    });
    this.#bytesOut = new Counter({ name: 'ffs_web_http_response_bytes_total', help: 'Response body bytes sent, by route.', labelNames: ['route'], registers });
    this.#uploadBytes = new Counter({ name: 'ffs_web_upload_bytes_total', help: 'Artifact bytes uploaded by vendors and relayed to a file host.', registers });
    this.#staging = new Histogram({
      name: 'ffs_web_staging_duration_seconds',
      help: 'Time to stage a release for a customer (entitlement check, file host staging, record).',
      labelNames: ['outcome'],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
      registers,
    });
    this.#commlink = new Histogram({
      name: 'ffs_web_commlink_request_duration_seconds',
      help: 'Round trip of a commlink request from the web host, by peer (internal-db, file-host), operation and outcome.',
      labelNames: ['peer', 'op', 'outcome'],
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 1, 10],
      registers,
    });
    this.#auth = new Counter({
      name: 'ffs_web_auth_total',
      help: 'Authentication outcomes, by method (password, token, session).',
      labelNames: ['method', 'outcome'],
      registers,
    });
    this.#changeSeq = new Gauge({
      name: 'ffs_web_change_feed_seq',
      help: 'The last sequence of the change feed this web host applied to its caches (0: none yet).',
      registers,
      aggregator: 'max',
    });
    this.#changeResets = new Counter({
      name: 'ffs_web_change_feed_resets_total',
      help: 'Times the change feed was reset (changes were no longer kept): every cache was dropped.',
      registers,
    });
    this.fileHosts = new Gauge({ name: 'ffs_web_file_hosts', help: 'File hosts connected to this web host.', registers, aggregator: 'max' });
    this.internalDbUp = new Gauge({ name: 'ffs_web_internal_db_up', help: '1 when the internal-db link is up.', registers, aggregator: 'max' });
    this.#worker = options.worker === undefined ? undefined : String(options.worker);
    if (this.#worker !== undefined) {
      this.#workerRequests = new Counter({
        name: 'ffs_web_worker_http_requests_total',
        help: 'HTTP requests answered, by web worker process (services.web.workers ≥ 2).',
        labelNames: ['worker'],
        registers,
      });
    }
  }

  observeRequest(method: string, route: string, status: number, seconds: number, bytesOut: number): void {
    this.#requests.inc({ method, route, status: String(status) });
    this.#duration.observe({ method, route }, seconds);
    if (bytesOut > 0) this.#bytesOut.inc({ route }, bytesOut);
    if (this.#worker !== undefined) this.#workerRequests?.inc({ worker: this.#worker });
  }

  upload(bytes: number): void {
    this.#uploadBytes.inc(bytes);
  }

  staging(seconds: number, ok: boolean): void {
    this.#staging.observe({ outcome: ok ? 'ok' : 'failed' }, seconds);
  }

  commlink(peer: 'internal-db' | 'file-host', op: string, seconds: number, outcome: string): void {
    this.#commlink.observe({ peer, op, outcome }, seconds);
  }

  auth(method: AuthMethod, outcome: AuthOutcome): void {
    this.#auth.inc({ method, outcome });
  }

  changeSeq(seq: number): void {
    this.#changeSeq.set(seq);
  }

  changeReset(): void {
    this.#changeResets.inc();
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  close(): void {
    this.registry.clear();
  }
}
