import { setTimeout as delay } from 'node:timers/promises';
import test from 'ava';
import { Errors, type Body } from '../lib/commlink/index.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import type { CodedError } from '../lib/errors/index.js';
import { deferred, within } from './helpers/wait.js';

test('10,000 pipelined requests on one connection are each paired with their own reply', async (t) => {
  const bag = makeBag();
  let concurrent = 0;
  let maxConcurrent = 0;
  const { server, port } = await startServer({
    bag,
    handlers: {
      square: async (body: Body) => {
        concurrent++;
        maxConcurrent = Math.max(maxConcurrent, concurrent);
        const n = body.n as number;
        // Replies leave out of order: some handlers finish at once, others later.
        if (n % 3 === 0) await delay(n % 7);
        concurrent--;
        return { n, square: n * n, tag: body.tag };
      },
    },
  });
  const client = makeClient({ bag, port });
  t.teardown(async () => {
    await client.close();
    await server.close();
  });
  await client.connect();
  const replies = await Promise.all(Array.from({ length: 10_000 }, (_, n) => client.request('square', { n, tag: `req-${n}` })));
  t.is(replies.length, 10_000);
  replies.forEach((reply, n) => {
    if (reply.n !== n || reply.square !== n * n || reply.tag !== `req-${n}`) t.fail(`request ${n} got ${JSON.stringify(reply)}`);
  });
  t.true(maxConcurrent > 100, `requests were in flight together (max ${maxConcurrent})`);
  t.is(client.peer?.pendingCount, 0);
});

test('per-request timeout, typed remote errors and unknown operations', async (t) => {
  const bag = makeBag();
  const slowMayAnswer = deferred();
  const { server, port } = await startServer({
    bag,
    handlers: {
      slow: () => slowMayAnswer.promise.then(() => ({})), // answers only after the client gave up on it
      fail: () => {
        throw Errors.CONFIG('field x is wrong', { field: 'x' });
      },
      crash: () => {
        throw new Error('secret internal detail');
      },
    },
  });
  const client = makeClient({ bag, port });
  t.teardown(async () => {
    await client.close(0);
    await server.close(0);
  });
  await client.connect(); // the 50 ms are the request's alone, not the handshake's too
  const timeout = await t.throwsAsync(client.request('slow', {}, { timeoutMs: 50 }));
  t.is((timeout as CodedError).code, Errors.TIMEOUT.code);
  slowMayAnswer.resolve(); // its late reply finds no request waiting
  const typed = (await t.throwsAsync(client.request('fail'))) as CodedError;
  t.is(typed.code, Errors.CONFIG.code);
  t.is(typed.name, 'RemoteError');
  t.deepEqual({ ...typed.details }, { field: 'x' });
  const generic = (await t.throwsAsync(client.request('crash'))) as CodedError;
  t.is(generic.code, Errors.REMOTE_INTERNAL.code);
  t.notRegex(generic.message, /secret/);
  const unknown = (await t.throwsAsync(client.request('nope'))) as CodedError;
  t.is(unknown.code, Errors.UNKNOWN_OPERATION.code);
  // The connection survived all of it.
  t.true(client.connected);
});

test('graceful close lets requests in flight finish, then refuses new ones', async (t) => {
  const bag = makeBag();
  const started = deferred();
  const mayFinish = deferred();
  const { server, port } = await startServer({
    bag,
    handlers: {
      slow: async () => {
        started.resolve();
        await mayFinish.promise;
        return { done: true };
      },
    },
  });
  const client = makeClient({ bag, port });
  t.teardown(() => server.close(0));
  await client.connect();
  const inFlight = client.request('slow');
  await within(started.promise, 5000, 'the request to reach its handler');
  const closing = client.close(2000);
  const refused = (await t.throwsAsync(client.request('slow'))) as CodedError;
  t.is(refused.code, Errors.CLOSED.code);
  mayFinish.resolve(); // the handler finishes while the client is closing
  t.deepEqual(await inFlight, { done: true });
  await closing;
});

test('a request fails with ERR_CLOSED when the connection drops under it', async (t) => {
  const bag = makeBag();
  const reached = deferred();
  const { server, port } = await startServer({
    bag,
    handlers: {
      hang: () => {
        reached.resolve();
        return new Promise(() => {});
      },
    },
  });
  const client = makeClient({ bag, port, reconnectMinMs: 10_000, reconnectMaxMs: 10_000 });
  t.teardown(() => client.close(0));
  await client.connect();
  const pending = client.request('hang');
  await within(reached.promise, 5000, 'the request to reach its handler');
  await server.close(0);
  const err = (await t.throwsAsync(pending)) as CodedError;
  t.is(err.code, Errors.CLOSED.code);
});
