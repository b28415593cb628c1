import { once } from 'node:events';
import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import { CommlinkServer, Errors } from '../lib/commlink/index.js';
import { backoffDelay } from '../lib/backoff.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import { LineProxy } from './helpers/line-proxy.js';
import { createLogger } from '../lib/log/logger.js';
import type { CodedError } from '../lib/errors/index.js';

test('the client reconnects after the server restarts on the same port', async (t) => {
  const bag = makeBag();
  const handlers = { hello: () => ({ from: 'server' }) };
  const first = await startServer({ bag, handlers });
  const client = makeClient({ bag, port: first.port });
  t.teardown(() => client.close(0));
  t.deepEqual(await client.request('hello'), { from: 'server' });
  const disconnected = new Promise((resolve) => client.once('disconnect', resolve));
  await first.server.close(0);
  await disconnected;
  // A request made while the server is down waits for the reconnect.
  const waiting = client.request('hello', {}, { timeoutMs: 5000 });
  await once(client, 'reconnecting'); // a dial has failed: the request waits through it
  const second = new CommlinkServer({ bag, handlers, log: createLogger({ level: 'error' }) });
  await second.listen(first.port, '127.0.0.1');
  t.teardown(() => second.close(0));
  t.deepEqual(await waiting, { from: 'server' });
});

test('while the server stays down, requests fail with ERR_NOT_CONNECTED after their timeout', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag });
  await server.close(0);
  const client = makeClient({ bag, port });
  t.teardown(() => client.close(0));
  const reconnecting: number[] = [];
  client.on('reconnecting', (info: { delayMs: number }) => reconnecting.push(info.delayMs));
  const err = (await t.throwsAsync(client.request('x', {}, { timeoutMs: 400 }))) as CodedError;
  t.is(err.code, Errors.NOT_CONNECTED.code);
  t.true(reconnecting.length >= 2, 'it kept trying');
});

test('back-off grows exponentially up to its ceiling, with jitter', (t) => {
  const reconnect = { minMs: 100, maxMs: 10_000 };
  t.is(backoffDelay(0, { ...reconnect, jitter: () => 1 }), 100);
  t.is(backoffDelay(0, { ...reconnect, jitter: () => 0 }), 50);
  t.is(backoffDelay(3, { ...reconnect, jitter: () => 1 }), 800);
  t.is(backoffDelay(20, { ...reconnect, jitter: () => 1 }), 10_000);
  t.is(backoffDelay(1000, { ...reconnect, jitter: () => 0 }), 5_000);
  const jittered = backoffDelay(3, { ...reconnect, jitter: true });
  t.true(jittered >= 400 && jittered <= 800, `${jittered} ms`);
});

test('back-off without jitter doubles exactly up to its ceiling (the supervisor: 0.5 s to 30 s)', (t) => {
  const restart = { minMs: 500, maxMs: 30_000 };
  t.deepEqual(
    [0, 1, 2, 3, 4, 5, 6, 7, 1000].map((attempt) => backoffDelay(attempt, restart)),
    [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000],
  );
});

test('the heartbeat detects a dead peer (a network black hole) and the client reconnects', async (t) => {
  const bag = makeBag(16);
  const { server, port } = await startServer({ bag, handlers: { hello: () => ({ ok: true }) } });
  const proxy = new LineProxy(port);
  const proxyPort = await proxy.listen();
  const client = makeClient({ bag, port: proxyPort, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 });
  t.teardown(async () => {
    await client.close(0);
    await proxy.close();
    await server.close(0);
  });
  t.deepEqual(await client.request('hello'), { ok: true });
  const disconnect = new Promise<CodedError>((resolve) => client.once('disconnect', resolve));
  proxy.blackHole = true; // packets vanish; no FIN, no RST
  const started = Date.now();
  const reason = await disconnect;
  t.is(reason.code, Errors.TIMEOUT.code);
  t.regex(reason.message, /heartbeat/);
  t.true(Date.now() - started < 2000);
  proxy.blackHole = false;
  t.deepEqual(await client.request('hello', {}, { timeoutMs: 5000 }), { ok: true });
});

test('an idle connection stays up: pings keep it alive', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400, handlers: { hello: () => ({}) } });
  const client = makeClient({ bag, port, heartbeatIntervalMs: 100, heartbeatTimeoutMs: 400 });
  t.teardown(async () => {
    await client.close(0);
    await server.close(0);
  });
  await client.connect();
  let disconnects = 0;
  client.on('disconnect', () => disconnects++);
  // An absence is what is tested: no disconnect over five heartbeat timeouts of silence, so a fixed wait.
  await delay(2000);
  t.is(disconnects, 0);
  t.deepEqual(await client.request('hello'), {});
});
