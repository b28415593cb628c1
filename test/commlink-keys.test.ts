/**
 * The data keys of FFS/2 (PROTOCOL.md §4, §6.3): a recorded session stays closed to whoever steals
 * the bag later (the keys need the ephemeral X25519 secret too), and under the 64-bit DES suite a
 * sender moves to a new key before a configured amount of data, which the receiver enforces.
 * Real servers and clients on loopback; the recorder is a proxy on the wire.
 */
import { createDecipheriv, hkdfSync } from 'node:crypto';
import { connect } from 'node:net';
import { Readable } from 'node:stream';
import test from 'ava';
import { Errors, type CommlinkOptions, type KeyBag, type RequestContext } from '../lib/commlink/index.js';
import { channelOptions, resolveOptions } from '../lib/commlink/options.js';
import { RefusalLog } from '../lib/commlink/refusal-log.js';
import { SecureChannel } from '../lib/commlink/secure-channel.js';
import type { CodedError } from '../lib/errors/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import { LineProxy } from './helpers/line-proxy.js';
import { patternStream, sha256OfStream } from './helpers/pattern-stream.js';
import { within } from './helpers/wait.js';

const SECRET = 'the launch codes are 0000';

/** Opens an aes-256-gcm body, or null (raw node:crypto: the attacker's own code). */
function openGcm(key: Buffer, packet: Buffer, headerLength: number): Buffer | null {
  const seq = packet.readBigUInt64BE(3);
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(seq, 4);
  const body = packet.subarray(headerLength);
  try {
    const d = createDecipheriv('aes-256-gcm', key, nonce);
    d.setAAD(packet.subarray(0, headerLength));
    d.setAuthTag(body.subarray(body.length - 16));
    return Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]);
  } catch {
    return null;
  }
}

const hkdf = (ikm: Buffer, salt: Buffer, info: string) => Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'ascii'), 32));

test('a recorded session cannot be opened with the key bag stolen later: the data keys need the ephemeral X25519 secret', async (t) => {
  const bag = makeBag(4);
  const { server, port } = await startServer({ bag, handlers: { echo: (b) => b } });
  t.teardown(() => server.close(0));
  const recorder = new LineProxy(port);
  const recorderPort = await recorder.listen();
  t.teardown(() => recorder.close());
  const clientLines: string[] = [];
  recorder.hook = (line) => {
    clientLines.push(line);
    return [line];
  };
  const client = makeClient({ bag, port: recorderPort });
  t.teardown(() => client.close(0));
  const peer = await client.connect();
  const clientPort = peer.localPort; // the proxy dials on with the same port number: the key index
  t.deepEqual(await client.request('echo', { secret: SECRET }), { secret: SECRET });
  t.true(clientLines.length >= 2 && recorder.serverLines.length >= 2, 'both hellos and a data packet each way recorded');

  // Later, the bag is stolen. With it the recorder opens both hellos …
  const bagKey = bag.keyForPort(clientPort);
  const clientHello = Buffer.from(clientLines[0]!, 'base64');
  const serverHello = Buffer.from(recorder.serverLines[0]!, 'base64');
  const clientSalt = clientHello.subarray(11, 27);
  const serverSalt = serverHello.subarray(11, 27);
  const helloText = openGcm(hkdf(bagKey, clientSalt, 'FFS/2 hello c2s aes-256-gcm'), clientHello, 35)?.toString() ?? '';
  const answerText = openGcm(hkdf(bagKey, serverSalt, 'FFS/2 hello s2c aes-256-gcm'), serverHello, 35)?.toString() ?? '';
  t.regex(helloText, /^<tobj type="ffs.hello">/, 'the stolen bag opens the hellos: they hold only public values');
  t.regex(answerText, /^<tobj type="ffs.hello">/);
  const kx = (text: string) => Buffer.from(/<kx t="bin">([^<]+)<\/kx>/.exec(text)?.[1] ?? '', 'base64');
  const shares = Buffer.concat([kx(helloText), kx(answerText)]);

  // … but no key it can make from what it has opens the request (FFS/1's derivation, FFS/2's without
  // the secret only the two ephemeral private keys could give).
  const request = Buffer.from(clientLines[1]!, 'base64');
  const salts = Buffer.concat([clientSalt, serverSalt]);
  const candidates: [string, Buffer][] = [
    ['FFS/1: bag key and salts', hkdf(bagKey, salts, 'FFS/1 data c2s aes-256-gcm')],
    ['FFS/2 without the X25519 secret', hkdf(bagKey, Buffer.concat([salts, shares]), 'FFS/2 data c2s aes-256-gcm')],
    ['FFS/2 with a zero secret', hkdf(Buffer.concat([Buffer.alloc(32), bagKey]), Buffer.concat([salts, shares]), 'FFS/2 data c2s aes-256-gcm')],
    ['FFS/2 with the public keys for the secret', hkdf(Buffer.concat([shares, bagKey]), Buffer.concat([salts, shares]), 'FFS/2 data c2s aes-256-gcm')],
  ];
  for (const [what, key] of candidates) {
    const opened = openGcm(key, request, 11);
    t.is(opened, null, `${what} opens the recorded request: ${opened?.toString()}`);
  }
  for (const line of [...clientLines, ...recorder.serverLines]) t.false(Buffer.from(line, 'base64').includes(SECRET), 'nothing in clear on the wire');
});

const DES = 'des-ede3-cbc-hmac-sha256' as const;
/** Small enough for a test: a packet holds at most ~12 KiB, a key 64 KiB. */
const SMALL = { maxPacketLength: 16 * 1024, desKeyLimitBytes: 64 * 1024 } as const;

test('under the DES suite a sender moves to the next key before the limit: a 1 MiB upload crosses many keys intact', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({
    bag,
    acceptSuites: [DES],
    ...SMALL,
    handlers: { ingest: (_b, ctx: RequestContext) => sha256OfStream(ctx.stream as Readable) },
  });
  t.teardown(() => server.close(0));
  const proxy = new LineProxy(port);
  const kinds: number[] = [];
  proxy.hook = (line) => {
    kinds.push(Buffer.from(line.slice(0, 4), 'base64')[2]!);
    return [line];
  };
  const client = makeClient({ bag, port: await proxy.listen(), suite: DES, ...SMALL });
  t.teardown(async () => {
    await client.close(0);
    await proxy.close();
  });
  const total = 1024 * 1024;
  const expected = await sha256OfStream(patternStream(total));
  const reply = await client.request('ingest', {}, { stream: patternStream(total), timeoutMs: 60_000 });
  t.deepEqual(reply, expected);
  const rekeys = kinds.filter((k) => k === 0x04).length;
  // 1 MiB of data (and some messages) under keys of 64 KiB each: at least 15 moves to a next key.
  t.true(rekeys >= 15, `${rekeys} REKEY packets`);
  // The receiver counted every key's bytes and found none over the limit (it would have closed).
  t.deepEqual(
    await client.request('ingest', {}, { stream: Readable.from([Buffer.from('and after')]) }),
    await sha256OfStream(Readable.from([Buffer.from('and after')])),
  );
});

test('a peer that passes the DES key limit without moving to a new key is closed with ERR_KEY_LIMIT', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, acceptSuites: [DES], ...SMALL, handlers: {} });
  t.teardown(() => server.close(0));
  const rejected = new Promise<CodedError>((resolve) => server.once('rejected', resolve));
  // A client whose own limit is far higher: it never sends a REKEY.
  const channel = await rawChannel(bag, port, { suite: DES, maxPacketLength: SMALL.maxPacketLength, desKeyLimitBytes: 1024 * 1024 * 1024 });
  const filler = 'x'.repeat(8000);
  for (let i = 1; i <= 10; i++) channel.sendMessages(Buffer.from(`<tobj type="nothing.here" id="${i}"><s>${filler}</s></tobj>`));
  const reason = await within(rejected, 5000, 'the refusal');
  t.is(reason.code, Errors.KEY_LIMIT.code, reason.message);
  t.is(reason.details.limit, SMALL.desKeyLimitBytes);
  t.true((reason.details.used as number) > SMALL.desKeyLimitBytes && (reason.details.used as number) <= SMALL.desKeyLimitBytes + 8100);
});

test('aes-256-gcm has no key limit: the same traffic sends no REKEY and is accepted', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, ...SMALL, handlers: { ingest: (_b, ctx: RequestContext) => sha256OfStream(ctx.stream as Readable) } });
  t.teardown(() => server.close(0));
  const proxy = new LineProxy(port);
  const kinds: number[] = [];
  proxy.hook = (line) => {
    kinds.push(Buffer.from(line.slice(0, 4), 'base64')[2]!);
    return [line];
  };
  const client = makeClient({ bag, port: await proxy.listen(), ...SMALL });
  t.teardown(async () => {
    await client.close(0);
    await proxy.close();
  });
  const reply = await client.request('ingest', {}, { stream: patternStream(256 * 1024) });
  t.is(reply.bytes, 256 * 1024);
  t.false(kinds.includes(0x04));
});

/** A client channel through the hello with the given options, to send what the test says. */
async function rawChannel(bag: KeyBag, port: number, options: Partial<CommlinkOptions>) {
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise((resolve) => socket.once('connect', resolve));
  const resolved = resolveOptions({ ...options, bag, log: silentLogger });
  const channel = new SecureChannel(socket, channelOptions(resolved, 'client', silentLogger, new RefusalLog(silentLogger, { lines: 1, intervalMs: 1000 })));
  await channel.ready;
  channel.attach({ onMessages: () => {}, onChunk: () => {}, onDrain: () => {}, onClose: () => {} });
  return channel;
}
