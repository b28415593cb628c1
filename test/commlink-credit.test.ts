import test from 'ava';
import { IncomingStream } from '../lib/commlink/bulk-stream.js';
import { Errors } from '../lib/commlink/index.js';
import type { CodedError } from '../lib/errors/index.js';

function makeStream(window: number) {
  const grants: number[] = [];
  const aborts: string[] = [];
  const stream = new IncomingStream(7, window, {
    grant: (_id, bytes) => grants.push(bytes),
    abort: (_id, error) => aborts.push(error.code),
  });
  return { stream, grants, aborts };
}

test('a reader that drains less than half a window still gets credit when the sender has none (regression: stalled upload)', async (t) => {
  const { stream, grants } = makeStream(1000);
  stream.receive(Buffer.alloc(1000)); // the whole initial window: the sender now holds no credit
  t.deepEqual(grants, []);
  stream.read(300); // the consumer takes a little
  await new Promise((r) => setImmediate(r));
  t.deepEqual(grants, [300], 'the freed bytes are granted at once');
});

test('credit is granted in large steps while the sender still holds some', async (t) => {
  const { stream, grants } = makeStream(1000);
  stream.receive(Buffer.alloc(600)); // 400 still outstanding
  stream.read(100);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(grants, [], 'no small grant while credit is outstanding');
  stream.read(500);
  await new Promise((r) => setImmediate(r));
  t.deepEqual(grants, [600]);
});

test('more data than the credit is a protocol error; a short end aborts the stream', (t) => {
  const { stream } = makeStream(100);
  stream.on('error', () => {});
  t.throws(() => stream.receive(Buffer.alloc(101)), { message: /exceed/ });
  const short = makeStream(100);
  const errors: CodedError[] = [];
  short.stream.on('error', (e: CodedError) => errors.push(e));
  short.stream.receive(Buffer.alloc(10));
  short.stream.end(11);
  return new Promise<void>((resolve) =>
    setImmediate(() => {
      t.is(errors[0]?.code, Errors.STREAM_ABORTED.code);
      resolve();
    }),
  );
});

test('a reader that gives up tells the sender once', (t) => {
  const { stream, aborts } = makeStream(100);
  stream.abandon('no longer needed');
  stream.destroy();
  t.deepEqual(aborts, [Errors.STREAM_ABORTED.code]);
});
