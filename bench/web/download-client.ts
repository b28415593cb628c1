/**
 * The download client of bench/web/crypto-pool.ts, in its own process (as a customer's browser
 * would be): GETs each signed URL the web host hands it from the file host's HTTP endpoint.
 * IPC: parent sends { url } per download link and { report: true } to read (and reset) the
 * counters; the child answers { gets, errors, dropped }. URLs beyond QUEUE_LIMIT waiting are
 * dropped: the client must not grow without bound when the links come faster than it can fetch.
 */
const CONCURRENCY = Number(process.env.BENCH_GET_CONCURRENCY ?? 4);
const QUEUE_LIMIT = 256;

const queue: string[] = [];
let gets = 0;
let errors = 0;
let dropped = 0;
/** Fetchers with nothing to do, waiting for a URL. */
const idle: (() => void)[] = [];

async function fetcher(): Promise<void> {
  for (;;) {
    const url = queue.shift();
    if (url === undefined) {
      await new Promise<void>((resolve) => idle.push(resolve));
      continue;
    }
    try {
      const res = await fetch(url);
      await res.arrayBuffer();
      if (res.status === 200) gets++;
      else errors++;
    } catch {
      errors++;
    }
  }
}

process.on('message', (m: { url?: string; report?: boolean }) => {
  if (m.url !== undefined) {
    if (queue.length >= QUEUE_LIMIT) dropped++;
    else queue.push(m.url);
    idle.shift()?.();
  }
  if (m.report) {
    process.send!({ gets, errors, dropped });
    gets = errors = dropped = 0;
  }
});
process.on('disconnect', () => process.exit(0));
for (let i = 0; i < CONCURRENCY; i++) void fetcher();
process.send!({ ready: true });
