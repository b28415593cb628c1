import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { get } from 'node:http';
import { connect } from 'node:net';
import type { ExecutionContext } from 'ava';
import type { FileHostOptions } from '../services/ftp/service.js';
import { publish, startChain, waitFor, type Chain } from './helpers/chain.js';
import { CLIENT_READ_BUFFER, kernelSocketBuffers, readThen } from './helpers/stalled-reader.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

interface Setup {
  chain: Chain;
  content: Buffer;
  url: string;
  path: string;
}

async function setup(t: Parameters<typeof startChain>[0], size = 3 * 1024 * 1024 + 5, fileHost: Partial<FileHostOptions> = {}): Promise<Setup> {
  const chain = await startChain(t, { fileHost });
  const content = randomBytes(size);
  await publish(chain, '1.0.0', content, 'acme db 1.0.0 (x64).tar.gz');
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  return { chain, content, url: staged.files[0]!.url, path: staged.files[0]!.path };
}

const body = async (res: Response) => Buffer.from(await res.arrayBuffer());

test('a full download is byte-identical and carries the headers a download manager needs', async (t) => {
  const { content, url } = await setup(t);
  const res = await fetch(url);
  t.is(res.status, 200);
  t.is(res.headers.get('content-length'), String(content.length));
  t.is(res.headers.get('accept-ranges'), 'bytes');
  t.is(res.headers.get('etag'), `"${sha(content)}"`);
  t.is(res.headers.get('x-checksum-sha256'), sha(content));
  t.is(res.headers.get('repr-digest'), `sha-256=:${createHash('sha256').update(content).digest('base64')}:`);
  t.truthy(res.headers.get('last-modified'));
  t.regex(res.headers.get('content-disposition')!, /^attachment; filename="acme db 1\.0\.0 \(x64\)\.tar\.gz"/);
  t.true((await body(res)).equals(content));
  const head = await fetch(url, { method: 'HEAD' });
  t.is(head.status, 200);
  t.is(head.headers.get('content-length'), String(content.length));
  t.is((await body(head)).length, 0);
});

test('a download resumed at an offset completes the file byte for byte', async (t) => {
  const { content, url } = await setup(t);
  const cut = 1_234_567;
  const first = content.subarray(0, cut); // what a client had before the connection dropped
  const res = await fetch(url, { headers: { range: `bytes=${cut}-`, 'if-range': `"${sha(content)}"` } });
  t.is(res.status, 206);
  t.is(res.headers.get('content-range'), `bytes ${cut}-${content.length - 1}/${content.length}`);
  t.is(res.headers.get('content-length'), String(content.length - cut));
  t.true(Buffer.concat([first, await body(res)]).equals(content));
  const middle = await fetch(url, { headers: { range: 'bytes=100-199' } });
  t.is(middle.status, 206);
  t.true((await body(middle)).equals(content.subarray(100, 200)));
  const suffix = await fetch(url, { headers: { range: 'bytes=-10' } });
  t.true((await body(suffix)).equals(content.subarray(content.length - 10)));
  const lastModified = (await fetch(url, { method: 'HEAD' })).headers.get('last-modified')!;
  const byDate = await fetch(url, { headers: { range: 'bytes=10-19', 'if-range': lastModified } });
  t.is(byDate.status, 206);
  t.true((await body(byDate)).equals(content.subarray(10, 20)));
});

test('conditional requests: If-Range mismatch sends the whole file; 304, 412 and 416', async (t) => {
  const { content, url } = await setup(t, 70_000);
  const stale = await fetch(url, { headers: { range: 'bytes=500-', 'if-range': `"${'0'.repeat(64)}"` } });
  t.is(stale.status, 200, 'the validator does not match: the whole file, not a range of something else');
  t.true((await body(stale)).equals(content));
  const oldDate = await fetch(url, { headers: { range: 'bytes=500-', 'if-range': 'Mon, 01 Jan 2001 00:00:00 GMT' } });
  t.is(oldDate.status, 200);
  await body(oldDate);
  const cached = await fetch(url, { headers: { 'if-none-match': `"${sha(content)}"` } });
  t.is(cached.status, 304);
  const precondition = await fetch(url, { headers: { 'if-match': '"something-else"' } });
  t.is(precondition.status, 412);
  const past = await fetch(url, { headers: { range: `bytes=${content.length}-` } });
  t.is(past.status, 416);
  t.is(past.headers.get('content-range'), `bytes */${content.length}`);
  const multi = await fetch(url, { headers: { range: 'bytes=0-1,5-6' } });
  t.is(multi.status, 200, 'several ranges: the whole file');
  t.true((await body(multi)).equals(content));
  const post = await fetch(url, { method: 'POST', body: 'x' });
  t.is(post.status, 405);
  t.is(post.headers.get('allow'), 'GET, HEAD');
});

test('forged, expired, missing and mismatched tickets are refused with 403 and a clear reason', async (t) => {
  const { chain, url, path } = await setup(t, 1000);
  const u = new URL(url);
  const ticket = u.searchParams.get('ticket')!;
  const at = (query: string) => fetch(`${u.origin}${u.pathname}${query}`);
  const cases: [string, Promise<Response>, RegExp][] = [
    ['missing', at(''), /ticket is required/],
    ['empty', at('?ticket='), /ticket is required/],
    ['garbage', at('?ticket=hello'), /malformed/],
    ['forged payload', at(`?ticket=${forgePayload(ticket, { c: 'globex', p: path, e: 4_102_444_800 })}`), /signature/],
    ['forged signature', at(`?ticket=${ticket.slice(0, -12)}${'A'.repeat(12)}`), /signature/],
    ['expired', fetch(await chain.web.fulfillment.downloadUrl('globex', path, { ttlMs: -1000 })), /expired at/],
    [
      'another file',
      fetch(
        (await chain.web.fulfillment.downloadUrl('globex', '/acme-db/1.0.0/other.tar.gz')).replace(
          '/other.tar.gz',
          u.pathname.slice(u.pathname.lastIndexOf('/')),
        ),
      ),
      /another file/,
    ],
  ];
  for (const [name, pending, reason] of cases) {
    const res = await pending;
    t.is(res.status, 403, name);
    t.regex(await res.text(), reason, name);
  }
  // A ticket names the area: another customer's ticket for the same path finds nothing.
  const other = await fetch(await chain.web.fulfillment.downloadUrl('initech', path));
  t.is(other.status, 404);
  const ok = await fetch(url);
  t.is(ok.status, 200, 'the genuine ticket still works');
  await body(ok);
});

function forgePayload(ticket: string, payload: object): string {
  const [version, , signature] = ticket.split('.');
  return `${version}.${Buffer.from(JSON.stringify(payload)).toString('base64url')}.${signature}`;
}

test('each transfer outcome, complete or aborted, lands in the internal-db audit', async (t) => {
  const { chain, url } = await setup(t, 16 * 1024 * 1024);
  await body(await fetch(url));
  await body(await fetch(url, { headers: { range: 'bytes=0-9' } }));
  // Abort a download after its first bytes.
  await new Promise<void>((resolve, reject) => {
    const req = get(url, (res) => {
      res.once('data', () => {
        req.destroy();
        resolve();
      });
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? resolve() : reject(err)));
  });
  let events: { outcome: string; bytes: number; protocol: string; path: string; artifactId: number | null }[] = [];
  await waitFor(
    async () => {
      events = (await chain.call('audit.query', { customer: 'globex' })).events as typeof events;
      return events.length >= 3;
    },
    10_000,
    'three audit events',
  );
  const complete = events.filter((e) => e.outcome === 'complete');
  const aborted = events.filter((e) => e.outcome === 'aborted');
  t.is(complete.length, 2);
  t.deepEqual(
    complete.map((e) => e.bytes).sort((a, b) => a - b),
    [10, 16 * 1024 * 1024],
  );
  t.is(aborted.length, 1);
  t.true(aborted[0]!.bytes < 16 * 1024 * 1024);
  t.true(events.every((e) => e.protocol === 'http' && e.path === '/acme-db/1.0.0/acme db 1.0.0 (x64).tar.gz' && typeof e.artifactId === 'number'));
});

test('100 concurrent downloads are each byte-identical', async (t) => {
  const { content, url } = await setup(t, 1024 * 1024 + 3);
  const bodies = await Promise.all(Array.from({ length: 100 }, async () => body(await fetch(url))));
  t.true(bodies.every((b) => b.equals(content)));
});

test('a download worker that dies is replaced, and the others keep serving', async (t) => {
  const { chain, content, url } = await setup(t, 100_000);
  await chain.fileHost.close(0); // this test wants two workers: start a second file host
  const other = await startChain(t, { fileHost: { name: 'file-2', httpWorkers: 2 } });
  await publish(other, '1.0.0', content, 'acme db 1.0.0 (x64).tar.gz');
  await other.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  await other.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await other.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  const before = other.fileHost.httpWorkerPids;
  t.is(before.length, 2);
  process.kill(before[0]!, 'SIGKILL');
  const bodies = await Promise.all(Array.from({ length: 20 }, async () => body(await fetch(staged.files[0]!.url))));
  t.true(
    bodies.every((b) => b.equals(content)),
    'served throughout',
  );
  await waitFor(() => other.fileHost.httpWorkerPids.length === 2 && !other.fileHost.httpWorkerPids.includes(before[0]!), 10_000, 'a replacement worker');
  t.true((await body(await fetch(staged.files[0]!.url))).equals(content));
  t.truthy(url);
});

test('closing the file host lets a download in progress end and still records its outcome', async (t) => {
  const { chain, url } = await setup(t, 32 * 1024 * 1024);
  const received = await new Promise<number>((resolve, reject) => {
    const req = get(url, (res) => {
      let bytes = 0;
      res.once('data', (chunk: Buffer) => {
        bytes += chunk.length;
        res.pause(); // a slow client: the rest stays in the server's buffers
        void chain.fileHost.close(300).then(() => resolve(bytes));
      });
      res.on('error', () => {});
    });
    req.on('error', (err) => ((err as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(err)));
  });
  t.true(received > 0);
  const events = (await chain.call('audit.query', { customer: 'globex' })).events as { outcome: string; bytes: number }[];
  t.is(events.length, 1, 'the outcome reached the internal-db before the file host closed');
  t.is(events[0]!.outcome, 'aborted');
  t.true(events[0]!.bytes < 32 * 1024 * 1024);
});

test('the sendfile addon is built here, and a slow reader of a large file still gets every byte in order', async (t) => {
  const { sendfile, sendfileUnavailable } = await import('../lib/sendfile/index.js');
  t.is(typeof sendfile, 'function', `sendfile addon: ${sendfileUnavailable ?? 'loaded'}`);
  const { content, url } = await setup(t, 24 * 1024 * 1024 + 333);
  // Reads in small sips with pauses: the socket buffer fills (EAGAIN) many times over.
  const received = await new Promise<Buffer>((resolve, reject) => {
    get(url, (res) => {
      const chunks: Buffer[] = [];
      let n = 0;
      res.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (++n % 40 === 0) {
          res.pause();
          setTimeout(() => res.resume(), 5);
        }
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    }).on('error', reject);
  });
  t.is(received.length, content.length);
  t.true(received.equals(content));
  // Several large downloads at once on keep-alive connections, each byte-identical.
  const bodies = await Promise.all(Array.from({ length: 6 }, async () => body(await fetch(url))));
  t.true(bodies.every((b) => b.equals(content)));
});

/**
 * A client reads 1 MiB of a file larger than every buffer between it and the server, then stops
 * reading (`stall`) or hangs up (`close`). The server cuts a stalled client off after
 * transferIdleSeconds (1 s here), and either way audits the download as aborted with the bytes its
 * socket took: at least what the client read, at most that plus what the kernel's socket buffers
 * hold (kernelSocketBuffers: tcp_wmem's and tcp_rmem's maximum) and the client's own read buffer.
 */
const stoppedReader = test.macro(async (t: ExecutionContext, action: 'stall' | 'close') => {
  const buffers = await kernelSocketBuffers();
  const size = 1024 * 1024 + buffers + 8 * 1024 * 1024;
  const { chain, url } = await setup(t, size, { sessions: { transferIdleSeconds: 1 } });
  const target = new URL(url);
  const socket = connect({ host: target.hostname, port: Number(target.port) });
  t.teardown(() => socket.destroy());
  socket.write(`GET ${target.pathname}${target.search} HTTP/1.1\r\nHost: ${target.host}\r\n\r\n`);
  const read = await readThen(socket, 1024 * 1024, action, true);
  let events: { outcome: string; bytes: number }[] = [];
  await waitFor(
    async () => {
      events = (await chain.call('audit.query', { customer: 'globex' })).events as typeof events;
      return events.length > 0;
    },
    30_000,
    'the download audited',
  );
  t.is(events.length, 1);
  t.is(events[0]!.outcome, 'aborted');
  const { bytes } = events[0]!;
  t.log(`the client read ${read} bytes; audited: ${bytes}; kernel socket buffers up to ${buffers}`);
  t.true(bytes >= read, `audited ${bytes} bytes, the client read ${read}`);
  t.true(bytes <= read + buffers + CLIENT_READ_BUFFER, `audited ${bytes} bytes, the client read ${read}, the kernel may hold ${buffers}`);
});

test(
  'a client that stops reading is cut off after transferIdleSeconds; the download is audited as aborted with the bytes its socket took',
  stoppedReader,
  'stall',
);
test('a client that reads 1 MiB and hangs up: the download is audited as aborted with the bytes its socket took', stoppedReader, 'close');
