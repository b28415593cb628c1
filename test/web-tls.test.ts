import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { rm } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { connect as http2Connect, type ClientHttp2Session, type OutgoingHttpHeaders } from 'node:http2';
import { Readable } from 'node:stream';
import { connect as netConnect, type Socket } from 'node:net';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import Koa from 'koa';
import { WebHttpServer } from '../services/web/http/server.js';
import type { WebState } from '../services/web/http/context.js';
import { readTlsFiles } from '../services/web/http/tls-files.js';
import { makeTokens, writeRandomFile } from './helpers/api.js';
import { publish, startChain, waitFor, type Chain } from './helpers/chain.js';
import { curl, makeCertificate, type TestCertificate } from './helpers/tls.js';

const MiB = 1024 * 1024;
const MAX_UPLOAD = 8 * MiB;
const HSTS = 12_345;

interface TlsSetup {
  chain: Chain;
  cert: TestCertificate;
  tokens: { admin: string; vendor: string; customer: string };
  /** https://127.0.0.1:port */
  base: string;
}

/** The chain serving HTTPS with a fresh certificate; acme-db 1.0.0 published, globex entitled, tokens for all three. */
async function tlsSetup(t: ExecutionContext, webHttp: { httpRedirectPort?: number; hstsSeconds?: number; workers?: number } = {}): Promise<TlsSetup> {
  const cert = await makeCertificate(t);
  const chain = await startChain(t, { webHttp: { tls: { cert: cert.cert, key: cert.key }, hstsSeconds: HSTS, maxUploadBytes: MAX_UPLOAD, ...webHttp } });
  await publish(chain, '1.0.0', randomBytes(10_000));
  await chain.call('customer.create', { login: 'globex', name: 'Globex Corp', password: 'correct horse battery' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  return { chain, cert, tokens: await makeTokens(chain), base: chain.web.httpUrl };
}

/** An HTTP/2 session to the web host, trusting its certificate only. */
async function h2Session(t: ExecutionContext, base: string, cert: TestCertificate): Promise<ClientHttp2Session> {
  const session = http2Connect(base, { ca: cert.cert });
  session.on('error', () => undefined);
  t.teardown(() => void session.destroy());
  await once(session, 'connect');
  return session;
}

/** One request on an HTTP/2 session: `body` streamed (no Content-Length), or none (the stream ends with its headers). */
async function h2Call(session: ClientHttp2Session, headers: OutgoingHttpHeaders, body?: Readable): Promise<{ status: number; text: string }> {
  const stream = session.request(headers, { endStream: body === undefined });
  if (body) body.pipe(stream);
  const [answer] = (await once(stream, 'response')) as [Record<string, number>];
  let text = '';
  stream.setEncoding('utf8');
  for await (const chunk of stream) text += chunk as string;
  return { status: answer[':status']!, text };
}

/** Writes `bytes` on a fresh TCP connection and reads until the server closes it (or `ms` pass); what came back. */
async function rawExchange(port: number, bytes: string | Buffer, ms = 5000): Promise<{ reply: string; closedByServer: boolean }> {
  const socket = netConnect(port, '127.0.0.1');
  socket.on('error', () => undefined);
  await once(socket, 'connect');
  let reply = '';
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
  socket.write(bytes);
  const closedByServer = await Promise.race([once(socket, 'close').then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), ms))]);
  socket.destroy();
  return { reply, closedByServer };
}

test('the API over HTTPS: HTTP/2 and HTTP/1.1 by ALPN (curl), HSTS on every answer, https:// URLs', async (t) => {
  const { chain, cert, tokens, base } = await tlsSetup(t);
  t.regex(base, /^https:\/\/127\.0\.0\.1:\d+$/);
  const auth = ['-H', `authorization: Bearer ${tokens.customer}`, '--cacert', cert.certPath];
  const h2 = await curl(['--http2', ...auth, `${base}/api/v1/downloads`]);
  t.is(h2.code, 0, h2.stderr);
  t.is(h2.status, 200);
  t.is(h2.version, '2');
  t.is(h2.headers['strict-transport-security'], `max-age=${HSTS}`);
  t.is((JSON.parse(h2.body.toString()) as { artifacts: unknown[] }).artifacts.length, 1);
  const h1 = await curl(['--http1.1', ...auth, `${base}/api/v1/downloads`]);
  t.is(h1.status, 200);
  t.is(h1.version, '1.1');
  t.is(h1.headers['strict-transport-security'], `max-age=${HSTS}`);
  // Errors too (the error edge's 401, the router's 404), and the portal's pages.
  for (const [args, status] of [
    [['--http2', '--cacert', cert.certPath, `${base}/api/v1/downloads`], 401],
    [['--http2', '--cacert', cert.certPath, `${base}/no/such/page`], 404],
    [['--http2', '--cacert', cert.certPath, `${base}/signin`], 200],
  ] as const) {
    const answer = await curl(args);
    t.is(answer.status, status, args.join(' '));
    t.is(answer.headers['strict-transport-security'], `max-age=${HSTS}`, args.join(' '));
  }
  // The signed download link of the 303 is the file host's, plain HTTP (unchanged).
  const { artifacts } = JSON.parse(h2.body.toString()) as { artifacts: { artifactId: number }[] };
  const redirect = await curl(['--http2', ...auth, `${base}/api/v1/artifacts/${artifacts[0]!.artifactId}/download`]);
  t.is(redirect.status, 303);
  t.regex(redirect.headers.location ?? '', /^http:\/\/127\.0\.0\.1:\d+\/files\//);
  // Unverified, curl refuses the self-signed certificate: nothing here works by turning checks off.
  const untrusted = await curl(['--http2', `${base}/readyz`]);
  t.not(untrusted.code, 0);
  // The operations listener stays plain HTTP, without HSTS.
  const ops = await curl([`http://127.0.0.1:${chain.web.opsAddress!.port}/healthz`]);
  t.is(ops.status, 200);
  t.is(ops.headers['strict-transport-security'], undefined);
});

test('uploads over HTTP/2 and over HTTP/1.1 with Expect: 100-continue keep their SHA-256; a body declared too large is refused with 413 over both before it is sent', async (t) => {
  const { chain, cert, tokens, base } = await tlsSetup(t);
  const vendor = ['-H', `authorization: Bearer ${tokens.vendor}`, '--cacert', cert.certPath];
  const created = await curl([
    '--http2',
    ...vendor,
    '-H',
    'content-type: application/json',
    '--data',
    '{"version":"2.0.0"}',
    `${base}/api/v1/products/acme-db/releases`,
  ]);
  t.is(created.status, 201, created.body.toString());
  const file = await writeRandomFile(join(chain.fileDir, 'upload.bin'), 3 * MiB + 12_345);
  t.teardown(() => rm(file.path, { force: true }));
  for (const [flag, name] of [
    ['--http2', 'over-h2.bin'],
    ['--http1.1', 'over-h1.bin'],
  ] as const) {
    const upload = await curl([
      flag,
      ...vendor,
      '-H',
      'Expect: 100-continue',
      '-H',
      `x-checksum-sha256: ${file.sha256}`,
      '-T',
      file.path,
      `${base}/api/v1/products/acme-db/releases/2.0.0/artifacts/${name}`,
    ]);
    t.is(upload.status, 201, `${flag}: ${upload.body.toString()}`);
    t.is(upload.version, flag === '--http2' ? '2' : '1.1');
    t.like(JSON.parse(upload.body.toString()), { sha256: file.sha256, size: 3 * MiB + 12_345, filename: name });
    t.is(upload.headers['strict-transport-security'], `max-age=${HSTS}`);
  }

  // HTTP/2 has no chunking: a body of unknown length (no Content-Length) is a body all the same.
  const session = await h2Session(t, base, cert);
  const streamed = await h2Call(
    session,
    {
      ':method': 'PUT',
      ':path': '/api/v1/products/acme-db/releases/2.0.0/artifacts/streamed.bin',
      authorization: `Bearer ${tokens.vendor}`,
      'x-checksum-sha256': file.sha256,
    },
    createReadStream(file.path),
  );
  t.is(streamed.status, 201, streamed.text);
  t.like(JSON.parse(streamed.text), { sha256: file.sha256, size: 3 * MiB + 12_345 });
  const json = await h2Call(
    session,
    { ':method': 'POST', ':path': '/api/v1/products', authorization: `Bearer ${tokens.vendor}`, 'content-type': 'application/json' },
    Readable.from([Buffer.from('{"code":"acme-tools","name":"Acme Tools"}')]),
  );
  t.is(json.status, 201, json.text);
  // An upload cut off by the client (RST_STREAM mid-body) stores nothing; the session and the server go on.
  const cut = session.request({
    ':method': 'PUT',
    ':path': '/api/v1/products/acme-db/releases/2.0.0/artifacts/cut.bin',
    authorization: `Bearer ${tokens.vendor}`,
    'content-length': String(3 * MiB),
  });
  cut.on('error', () => undefined);
  cut.write(randomBytes(MiB));
  await new Promise((resolve) => setTimeout(resolve, 300));
  cut.close(0x8); // CANCEL
  await once(cut, 'close');
  // And a request ended with its headers has none.
  const none = await h2Call(session, {
    ':method': 'PUT',
    ':path': '/api/v1/products/acme-db/releases/2.0.0/artifacts/none.bin',
    authorization: `Bearer ${tokens.vendor}`,
  });
  t.is(none.status, 400, none.text);
  t.regex(none.text, /an upload needs a body/);

  // Declared larger than any endpoint takes, with Expect: 100-continue: 413 before a byte of it is sent.
  const tooLarge = String(MAX_UPLOAD + 1);
  const stream = session.request({
    ':method': 'PUT',
    ':path': '/api/v1/products/acme-db/releases/2.0.0/artifacts/big.bin',
    authorization: `Bearer ${tokens.vendor}`,
    'content-length': tooLarge,
    expect: '100-continue',
  });
  let continued = false;
  stream.on('continue', () => (continued = true));
  stream.on('error', () => undefined);
  const [headers] = (await once(stream, 'response')) as [Record<string, string | number>];
  let text = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => (text += chunk));
  await once(stream, 'end');
  t.is(headers[':status'], 413);
  t.is(headers['strict-transport-security'], `max-age=${HSTS}`);
  t.regex(text, /ERR_BODY_TOO_LARGE/);
  t.false(continued, 'no 100 Continue');
  stream.destroy();
  // The session stays usable.
  const after = session.request({ ':path': '/readyz' });
  after.on('error', () => undefined);
  t.is(((await once(after, 'response')) as [Record<string, number>])[0][':status'], 200);
  after.destroy();

  const socket = tlsConnect({ host: '127.0.0.1', port: chain.web.httpAddress!.port, ca: cert.cert, ALPNProtocols: ['http/1.1'] });
  socket.on('error', () => undefined);
  await once(socket, 'secureConnect');
  t.is(socket.alpnProtocol, 'http/1.1');
  let reply = '';
  socket.on('data', (chunk: Buffer) => (reply += chunk.toString('latin1')));
  socket.write(
    `PUT /api/v1/products/acme-db/releases/2.0.0/artifacts/big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens.vendor}\r\n` +
      `Content-Length: ${tooLarge}\r\nExpect: 100-continue\r\n\r\n`,
  );
  await once(socket, 'end');
  socket.destroy();
  t.regex(reply, /^HTTP\/1\.1 413/);
  t.regex(reply, /ERR_BODY_TOO_LARGE/);
  t.regex(reply, /strict-transport-security: max-age=12345/i);
  t.notRegex(reply, /100 Continue/);
  // Nothing of the refused uploads was stored.
  const releases = await curl(['--http2', ...vendor, `${base}/api/v1/products/acme-db/releases`]);
  const listed = (JSON.parse(releases.body.toString()) as { releases: { version: string; artifacts: { filename: string }[] }[] }).releases;
  t.deepEqual(
    listed
      .find((r) => r.version === '2.0.0')!
      .artifacts.map((a) => a.filename)
      .sort(),
    ['over-h1.bin', 'over-h2.bin', 'streamed.bin'],
  );
});

test('the redirect listener answers 301 (GET, HEAD) or 308 (others) to the HTTPS URL with the path and query, whatever the Host header, and serves nothing else', async (t) => {
  const { chain, cert, tokens, base } = await tlsSetup(t, { httpRedirectPort: 0 });
  const port = chain.web.redirectAddress!.port;
  t.not(port, chain.web.httpAddress!.port);
  const plain = `http://127.0.0.1:${port}`;
  const get = await curl(['-H', 'Host: evil.example', `${plain}/api/v1/downloads?page=2&x=%2F`]);
  t.is(get.status, 301);
  t.is(get.headers.location, `${base}/api/v1/downloads?page=2&x=%2F`, 'the configured origin, never the Host header');
  t.is(get.headers['content-length'], '0');
  t.is(get.headers['strict-transport-security'], undefined, 'no HSTS over plain HTTP');
  t.is(get.headers['x-content-type-options'], undefined, 'not the portal nor the API answering');
  t.is(get.body.length, 0);
  t.is((await curl(['-I', `${plain}/signin`])).status, 301);
  const del = await curl(['-X', 'DELETE', '-H', `authorization: Bearer ${tokens.admin}`, `${plain}/api/v1/tokens/1`]);
  t.is(del.status, 308);
  t.is(del.headers.location, `${base}/api/v1/tokens/1`);
  // A client that follows it lands on the portal over HTTP/2.
  const followed = await curl(['-L', '--cacert', cert.certPath, `${plain}/signin?next=%2Fdownloads`]);
  t.is(followed.status, 200);
  t.is(followed.version, '2');
  t.regex(followed.body.toString(), /name="csrf"/);

  // A POST declaring 100 MB: 308 at once, the body never read (the connection closes after the answer); no 100 Continue.
  for (const expect of ['', 'Expect: 100-continue\r\n']) {
    const post = await rawExchange(
      port,
      `POST /api/v1/products HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${tokens.vendor}\r\nContent-Length: 100000000\r\n${expect}\r\n{"code":`,
    );
    t.regex(post.reply, /^HTTP\/1\.1 308 /, expect || 'no Expect');
    t.regex(post.reply, new RegExp(`location: ${base}/api/v1/products\r\n`, 'i'));
    t.notRegex(post.reply, /100 Continue/);
    t.true(post.closedByServer, 'closed after the answer, the body unread');
  }
  // An absolute-form target does not choose the destination either.
  const absolute = await rawExchange(port, 'GET http://evil.example/x HTTP/1.1\r\nHost: evil.example\r\n\r\n');
  t.regex(absolute.reply, new RegExp(`location: ${base}/\r\n`, 'i'));
  // Garbage: 400 and closed; the listener keeps answering.
  t.regex((await rawExchange(port, 'NOT HTTP AT ALL\r\n\r\n')).reply, /^HTTP\/1\.1 400/);
  t.is((await curl([`${plain}/`])).status, 301);
  // Nothing created by any of it.
  const products = await curl(['--http2', '--cacert', cert.certPath, '-H', `authorization: Bearer ${tokens.vendor}`, `${base}/api/v1/products`]);
  t.is((JSON.parse(products.body.toString()) as { products: unknown[] }).products.length, 1);
});

test('a redirect listener with a public URL sends to it; http publicUrl keeps its host with the HTTPS port', async (t) => {
  const cert = await makeCertificate(t);
  const https = await startChain(t, { webHttp: { tls: { cert: cert.cert, key: cert.key }, httpRedirectPort: 0, publicUrl: 'https://downloads.example.com' } });
  const one = await curl([`http://127.0.0.1:${https.web.redirectAddress!.port}/a?b=c`]);
  t.is(one.headers.location, 'https://downloads.example.com/a?b=c');
  const http = await startChain(t, { webHttp: { tls: { cert: cert.cert, key: cert.key }, httpRedirectPort: 0, publicUrl: 'http://localhost:9999' } });
  const two = await curl([`http://127.0.0.1:${http.web.redirectAddress!.port}/a`]);
  t.is(two.headers.location, `https://localhost:${http.web.httpAddress!.port}/a`);
});

test('plain HTTP on the HTTPS port, and TLS clients that stall, half-open or send garbage, fail alone: the others keep being served', async (t) => {
  const { chain, cert, tokens, base } = await tlsSetup(t);
  const port = chain.web.httpAddress!.port;
  const ok = async (what: string) => {
    const answer = await curl(['--http2', '--cacert', cert.certPath, '-H', `authorization: Bearer ${tokens.customer}`, `${base}/api/v1/downloads`]);
    t.is(answer.status, 200, what);
  };
  // Plain HTTP to the TLS port: the handshake fails, the connection is closed, nothing else happens.
  const plain = await curl([`http://127.0.0.1:${port}/readyz`]);
  t.not(plain.code, 0);
  t.is(plain.status, 0);
  const raw = await rawExchange(port, 'GET /readyz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n');
  t.true(raw.closedByServer);
  t.false(raw.reply.startsWith('HTTP/1.1 200'));
  await ok('after plain HTTP');

  // Hostile clients, all at once, held open while others are served.
  const held: Socket[] = [];
  t.teardown(() => held.forEach((s) => s.destroy()));
  const open = async (write?: Buffer | string) => {
    const socket = netConnect(port, '127.0.0.1');
    socket.on('error', () => undefined);
    await once(socket, 'connect');
    if (write !== undefined) socket.write(write);
    held.push(socket);
    return socket;
  };
  await open(); // connects and says nothing
  await open(Buffer.from([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc])); // half a ClientHello, then silence
  await open(randomBytes(4096)); // garbage
  const halfOpen = await open(); // sends its FIN at once
  halfOpen.end();
  // TLS done, then garbage instead of the HTTP/2 preface; and a session whose frames are garbage after the preface.
  const tlsGarbage = tlsConnect({ host: '127.0.0.1', port, ca: cert.cert, ALPNProtocols: ['h2'] });
  tlsGarbage.on('error', () => undefined);
  await once(tlsGarbage, 'secureConnect');
  const garbageClosed = once(tlsGarbage, 'close');
  tlsGarbage.resume(); // read what the server says (its GOAWAY), so its close is seen
  tlsGarbage.write(randomBytes(2048));
  const badFrames = tlsConnect({ host: '127.0.0.1', port, ca: cert.cert, ALPNProtocols: ['h2'] });
  badFrames.on('error', () => undefined);
  await once(badFrames, 'secureConnect');
  const badFramesClosed = once(badFrames, 'close');
  badFrames.resume();
  badFrames.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), randomBytes(1024)]));
  // A TLS client that completes the handshake and then stalls, holding an HTTP/2 session open.
  const idle = await h2Session(t, base, cert);
  await Promise.all([ok('with hostile clients 1'), ok('with hostile clients 2'), ok('with hostile clients 3')]);
  await garbageClosed;
  await badFramesClosed;
  t.false(idle.destroyed, 'a quiet but valid session is left alone');
  await ok('after the garbage sessions were closed');
});

test('close() sends GOAWAY to open HTTP/2 sessions, lets a request in flight finish, and ends within the grace', async (t) => {
  const cert = await makeCertificate(t);
  const app = new Koa<WebState>();
  let release: () => void = () => undefined;
  const slowStarted = new Promise<void>((started) => {
    app.use(async (ctx) => {
      if (ctx.path === '/slow') {
        started();
        await new Promise<void>((resolve) => (release = resolve));
      } else if (ctx.path === '/hang') {
        await new Promise(() => undefined);
      }
      ctx.body = `done ${ctx.path}`;
    });
  });
  const server = new WebHttpServer(app, { tls: { cert: cert.cert, key: cert.key }, hstsSeconds: 60 });
  const address = await server.listen(0, '127.0.0.1');
  t.teardown(() => server.close(0));
  const base = `https://127.0.0.1:${address.port}`;
  const idle = await h2Session(t, base, cert);
  const busy = await h2Session(t, base, cert);
  const goaways: string[] = [];
  idle.on('goaway', () => goaways.push('idle'));
  busy.on('goaway', () => goaways.push('busy'));
  const slow = busy.request({ ':path': '/slow' });
  slow.setEncoding('utf8');
  let slowBody = '';
  slow.on('data', (chunk: string) => (slowBody += chunk));
  const slowEnded = once(slow, 'end');
  await slowStarted;
  await waitFor(() => server.sessions === 2, 5000);

  const closing = server.close(10_000);
  await waitFor(() => goaways.length === 2, 5000, 'GOAWAY on both sessions');
  release();
  await slowEnded;
  t.is(slowBody, 'done /slow', 'the request in flight finished');
  const started = Date.now();
  await closing;
  t.true(Date.now() - started < 5000, 'closed once the sessions were done, not at the end of the grace');
  await waitFor(() => server.sessions === 0, 5000, 'the sessions to be gone');

  // A request that never ends: cut at the grace.
  const second = new WebHttpServer(app, { tls: { cert: cert.cert, key: cert.key } });
  const at = await second.listen(0, '127.0.0.1');
  t.teardown(() => second.close(0));
  const session = await h2Session(t, `https://127.0.0.1:${at.port}`, cert);
  const hang = session.request({ ':path': '/hang' });
  hang.on('error', () => undefined);
  await waitFor(() => second.sessions === 1, 5000);
  await new Promise((resolve) => setTimeout(resolve, 100));
  const t0 = Date.now();
  await second.close(1000);
  const took = Date.now() - t0;
  t.true(took >= 900 && took < 4000, `closed at the grace (${took} ms)`);
  await waitFor(() => session.destroyed || session.closed, 5000, 'the client to see its session end');
});

test('plain HTTP has no HSTS; hstsSeconds 0 sends none over HTTPS', async (t) => {
  const plain = await startChain(t, { webHttp: {} });
  t.regex(plain.web.httpUrl, /^http:\/\//);
  t.is((await curl([`${plain.web.httpUrl}/readyz`])).headers['strict-transport-security'], undefined);
  const cert = await makeCertificate(t);
  const none = await startChain(t, { webHttp: { tls: { cert: cert.cert, key: cert.key }, hstsSeconds: 0 } });
  const answer = await curl(['--cacert', cert.certPath, `${none.web.httpUrl}/readyz`]);
  t.is(answer.status, 200);
  t.is(answer.headers['strict-transport-security'], undefined);
});

test('the certificate and key files: missing, not PEM, or not a pair fail the start naming the field', async (t) => {
  const one = await makeCertificate(t);
  const other = await makeCertificate(t);
  t.deepEqual(await readTlsFiles(one.certPath, one.keyPath), { cert: one.cert, key: one.key });
  await t.throwsAsync(readTlsFiles(join(one.dir, 'missing.pem'), one.keyPath), {
    message: /^services\.web\.tlsCertPath: cannot read .*missing\.pem \(ENOENT\)/,
  });
  await t.throwsAsync(readTlsFiles(one.certPath, join(one.dir, 'missing.pem')), { message: /^services\.web\.tlsKeyPath: cannot read/ });
  await t.throwsAsync(readTlsFiles(one.keyPath, one.keyPath), { message: /^services\.web\.tlsCertPath: .* holds no PEM certificate/ });
  await t.throwsAsync(readTlsFiles(one.certPath, one.certPath), { message: /^services\.web\.tlsKeyPath: .* holds no PEM private key/ });
  await t.throwsAsync(readTlsFiles(one.certPath, other.keyPath), { message: /^services\.web\.tlsKeyPath: .* is not the private key of the certificate/ });
});

test('portal cookies are Secure over HTTPS by HTTP/2 and HTTP/1.1 at a name that is not loopback (koa sees the TLS socket), and not over plain HTTP there', async (t) => {
  const cert = await makeCertificate(t, ['DNS:portal.example']);
  const chain = await startChain(t, { webHttp: { tls: { cert: cert.cert, key: cert.key } } });
  const port = chain.web.httpAddress!.port;
  for (const flag of ['--http2', '--http1.1']) {
    const answer = await curl([flag, '--resolve', `portal.example:${port}:127.0.0.1`, '--cacert', cert.certPath, `https://portal.example:${port}/signin`]);
    t.is(answer.status, 200, flag);
    t.regex(answer.headers['set-cookie'] ?? '', /; secure; httponly/i, flag);
  }
  const plain = await startChain(t, { webHttp: {} });
  const answer = await curl(['-H', 'Host: portal.example', `${plain.web.httpUrl}/signin`]);
  t.is(answer.status, 200);
  t.regex(answer.headers['set-cookie'] ?? '', /httponly/i);
  t.notRegex(answer.headers['set-cookie'] ?? '', /secure/i);
});

test('workers = 2 over HTTPS: both worker processes serve HTTP/2 and HTTP/1.1 with HSTS, an upload through a worker keeps its SHA-256, the primary redirects plain HTTP, and close() ends open HTTP/2 sessions', async (t) => {
  const { chain, cert, tokens, base } = await tlsSetup(t, { workers: 2, httpRedirectPort: 0 });
  t.is(chain.web.workerPids.length, 2);
  t.regex(base, /^https:\/\//);
  const auth = ['-H', `authorization: Bearer ${tokens.customer}`, '--cacert', cert.certPath];
  // Fresh connections (one curl each) spread over the two workers.
  for (let i = 0; i < 12; i++) {
    const flag = i % 2 === 0 ? '--http2' : '--http1.1';
    const answer = await curl([flag, ...auth, `${base}/api/v1/downloads`]);
    t.is(answer.status, 200, flag);
    t.is(answer.version, flag === '--http2' ? '2' : '1.1');
    t.is(answer.headers['strict-transport-security'], `max-age=${HSTS}`);
  }
  const metrics = await curl([`${chain.web.opsUrl}/metrics`]);
  const served = [...metrics.body.toString().matchAll(/^ffs_web_worker_http_requests_total\{worker="(\d+)"\} (\d+)$/gm)].filter((m) => Number(m[2]) > 0);
  t.is(served.length, 2, 'both workers answered');
  const file = await writeRandomFile(join(chain.fileDir, 'upload.bin'), 2 * MiB);
  t.teardown(() => rm(file.path, { force: true }));
  const vendor = ['-H', `authorization: Bearer ${tokens.vendor}`, '--cacert', cert.certPath];
  t.is(
    (await curl(['--http2', ...vendor, '-H', 'content-type: application/json', '--data', '{"version":"3.0.0"}', `${base}/api/v1/products/acme-db/releases`]))
      .status,
    201,
  );
  const upload = await curl([
    '--http2',
    ...vendor,
    '-H',
    'Expect: 100-continue',
    '-T',
    file.path,
    `${base}/api/v1/products/acme-db/releases/3.0.0/artifacts/w.bin`,
  ]);
  t.is(upload.status, 201, upload.body.toString());
  t.like(JSON.parse(upload.body.toString()), { sha256: file.sha256, size: 2 * MiB });
  const redirect = await curl([`http://127.0.0.1:${chain.web.redirectAddress!.port}/downloads?x=1`]);
  t.is(redirect.status, 301);
  t.is(redirect.headers.location, `${base}/downloads?x=1`);
  // An HTTP/2 session left open does not hold close() past its grace.
  const idle = await h2Session(t, base, cert);
  const goaway = once(idle, 'goaway');
  const started = Date.now();
  await chain.web.close(3000);
  await goaway;
  t.true(Date.now() - started < 10_000, `closed in ${Date.now() - started} ms`);
});
