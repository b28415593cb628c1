import { connect } from 'node:net';
import { Readable } from 'node:stream';
import test from 'ava';
import { Errors } from '../lib/commlink/index.js';
import { resolveOptions, channelOptions } from '../lib/commlink/options.js';
import { RefusalLog } from '../lib/commlink/refusal-log.js';
import { SecureChannel } from '../lib/commlink/secure-channel.js';
import { silentLogger } from '../lib/log/logger.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import type { CodedError } from '../lib/errors/index.js';
import { within } from './helpers/wait.js';

/**
 * A peer that completes the handshake correctly and then breaks the message rules: each case
 * must close only its own connection, with a typed reason, and leave the server serving.
 */
const violations: { name: string; code: string; send: (channel: SecureChannel) => void }[] = [
  { name: 'an unknown reserved message type', code: Errors.MESSAGE_INVALID.code, send: (c) => c.sendMessages(Buffer.from('<tobj type="ffs.bogus"/>')) },
  { name: 'a request without an id', code: Errors.MESSAGE_INVALID.code, send: (c) => c.sendMessages(Buffer.from('<tobj type="echo"/>')) },
  { name: 'a request with an invalid id', code: Errors.MESSAGE_INVALID.code, send: (c) => c.sendMessages(Buffer.from('<tobj type="echo" id="a b"/>')) },
  { name: 'a malformed tobj payload', code: Errors.TOBJ_SYNTAX.code, send: (c) => c.sendMessages(Buffer.from('<tobj type="echo" id="1">')) },
  { name: 'a payload that is not UTF-8', code: Errors.TOBJ_ENCODING.code, send: (c) => c.sendMessages(Buffer.from([0x3c, 0xc3, 0x28])) },
  { name: 'a chunk for a stream never opened', code: Errors.STREAM_PROTOCOL.code, send: (c) => c.sendChunk(5, Buffer.from('data')) },
  {
    name: 'a chunk beyond the credit granted',
    code: Errors.STREAM_PROTOCOL.code,
    send: (c) => {
      c.sendMessages(Buffer.from('<tobj type="slow" id="1" stream="1"/>'));
      c.sendChunk(1, Buffer.alloc(65_536 + 1));
    },
  },
  {
    name: 'a stream id that does not increase',
    code: Errors.STREAM_PROTOCOL.code,
    send: (c) => c.sendMessages(Buffer.from('<tobj type="slow" id="1" stream="2"/><tobj type="slow" id="2" stream="2"/>')),
  },
  {
    name: 'a credit without a byte count',
    code: Errors.STREAM_PROTOCOL.code,
    send: (c) => c.sendMessages(Buffer.from('<tobj type="ffs.credit" stream="1"/>')),
  },
  {
    name: 'an end of a stream never opened',
    code: Errors.STREAM_PROTOCOL.code,
    send: (c) => c.sendMessages(Buffer.from('<tobj type="ffs.end" stream="9"><bytes t="num">0</bytes></tobj>')),
  },
];

for (const v of violations) {
  test(`${v.name} closes that connection with ${v.code}; the server serves on`, async (t) => {
    const bag = makeBag();
    const { server, port } = await startServer({
      bag,
      streamWindowBytes: 65_536,
      handlers: { echo: (b) => b, slow: () => new Promise((r) => setTimeout(() => r({}), 2000)) },
    });
    t.teardown(() => server.close(0));
    const rejected = new Promise<CodedError>((resolve) => server.once('rejected', resolve));
    const socket = connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    await new Promise((r) => socket.once('connect', r));
    const options = resolveOptions({ bag, log: silentLogger });
    const channel = new SecureChannel(socket, channelOptions(options, 'client', silentLogger, new RefusalLog(silentLogger, { lines: 1, intervalMs: 1000 })));
    await channel.ready;
    const closed = new Promise<void>((resolve) => channel.attach({ onMessages: () => {}, onChunk: () => {}, onDrain: () => {}, onClose: () => resolve() }));
    v.send(channel);
    const reason = await rejected;
    t.is(reason.code, v.code, reason.message);
    await closed;
    const client = makeClient({ bag, port });
    t.deepEqual(await client.request('echo', { still: 'serving' }), { still: 'serving' });
    await client.close();
  });
}

test('an envelope attribute the protocol does not list is ignored, not refused (PROTOCOL.md §11)', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, handlers: { echo: (b) => b } });
  t.teardown(() => server.close(0));
  const socket = connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  await new Promise((r) => socket.once('connect', r));
  const options = resolveOptions({ bag, log: silentLogger });
  const channel = new SecureChannel(socket, channelOptions(options, 'client', silentLogger, new RefusalLog(silentLogger, { lines: 1, intervalMs: 1000 })));
  await channel.ready;
  const replies: string[] = [];
  const got = new Promise<void>((resolve) =>
    channel.attach({
      onMessages: (payload) => {
        replies.push(payload.toString());
        if (replies.join('').includes('id="2"')) resolve();
      },
      onChunk: () => {},
      onDrain: () => {},
      onClose: () => {},
    }),
  );
  channel.sendMessages(Buffer.from('<tobj type="echo" id="1" future="x"><a>1</a></tobj><tobj type="ffs.ping" id="7" stream="3"/>'));
  channel.sendMessages(Buffer.from('<tobj type="echo" id="2"><b>2</b></tobj>'));
  await got;
  const text = replies.join('');
  t.true(text.includes('<tobj type="ffs.reply" id="1"><a>1</a></tobj>'), text);
  t.true(text.includes('<tobj type="ffs.pong"/>'), text);
  t.false(channel.closed);
  channel.destroy();
});

test('a stream sent to an operation that takes none is aborted and the operation answers as usual (PROTOCOL.md §12)', async (t) => {
  const bag = makeBag();
  const { server, port } = await startServer({ bag, streamWindowBytes: 65_536, handlers: { echo: (b) => b } });
  t.teardown(() => server.close(0));
  const client = makeClient({ bag, port });
  t.teardown(() => client.close(0));
  let produced = 0;
  const source = Readable.from(
    (function* () {
      for (let i = 0; i < 1024; i++) {
        produced += 64 * 1024;
        yield Buffer.alloc(64 * 1024, i);
      }
    })(),
  );
  const sourceClosed = new Promise<void>((resolve) => source.once('close', () => resolve()));
  t.deepEqual(await client.request('echo', { kept: 'answer' }, { stream: source }), { kept: 'answer' });
  await within(sourceClosed, 5000, 'the sender to stop its stream');
  t.true(produced < 8 * 1024 * 1024, `the sender stopped early (${produced} bytes read from its source)`);
  const unknown = await t.throwsAsync(client.request('no.such.op', {}, { stream: Readable.from([Buffer.alloc(1000)]) }));
  t.is((unknown as CodedError).code, Errors.UNKNOWN_OPERATION.code);
  t.deepEqual(await client.request('echo', { still: 'serving' }), { still: 'serving' });
});
