import { connect } from 'node:net';
import test from 'ava';
import { Errors } from '../lib/commlink/index.js';
import { resolveOptions, channelOptions } from '../lib/commlink/options.js';
import { RefusalLog } from '../lib/commlink/refusal-log.js';
import { SecureChannel } from '../lib/commlink/secure-channel.js';
import { silentLogger } from '../lib/log/logger.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';
import type { CodedError } from '../lib/errors/index.js';

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
