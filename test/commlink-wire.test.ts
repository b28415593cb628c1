import { randomBytes } from 'node:crypto';
import test from 'ava';
import { Errors, KeyBag } from '../lib/commlink/index.js';
import { fromSevenBit, toSevenBit } from '../lib/commlink/filter.js';
import { LineReader } from '../lib/commlink/line-reader.js';
import { decodeHeader, encodeHeader, KIND_CHUNK, KIND_HELLO, KIND_MESSAGES, KIND_REKEY } from '../lib/commlink/packet.js';
import { SUITE_NAMES, suiteByName } from '../lib/commlink/suites/index.js';
import { resolveOptions } from '../lib/commlink/options.js';
import { type CodedError } from '../lib/errors/index.js';
import { configFields } from '../lib/config/index.js';

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as CodedError).code;
  }
  return 'no error';
};

test('the line reader reassembles lines split at every byte boundary', (t) => {
  const lines: string[] = [];
  const reader = new LineReader(100, (line) => lines.push(line.toString('latin1')));
  const input = Buffer.from('QUJD\r\nREVGR0g=\r\n\r\nSks=\r\n', 'latin1');
  for (const byte of input) reader.push(Buffer.from([byte]));
  t.deepEqual(lines, ['QUJD', 'REVGR0g=', '', 'Sks=']);
});

test('the line reader refuses an over-long line as soon as it passes the limit', (t) => {
  const reader = new LineReader(8, () => {});
  reader.push(Buffer.from('AAAA')); // 4 held
  t.is(
    codeOf(() => reader.push(Buffer.from('AAAAAA'))),
    Errors.FRAME_TOO_LONG.code,
  ); // 10 > 8 + 1
  const exact = new LineReader(8, () => {});
  t.is(
    codeOf(() => exact.push(Buffer.from('AAAAAAAA\r\n'))),
    'no error',
  );
  t.is(
    codeOf(() => exact.push(Buffer.from('AAAAAAAAA\r\n'))),
    Errors.FRAME_TOO_LONG.code,
  );
  t.is(
    codeOf(() => new LineReader(8, () => {}).push(Buffer.from('AAAA\n'))),
    Errors.FRAME_BAD_CHARS.code,
  );
});

test('the line reader refuses at exactly M + 2 bytes without an LF, and a raised limit applies to the line in progress', (t) => {
  // PROTOCOL.md §7: M characters and a CR may wait for their LF; one more byte is refused at once.
  const held = new LineReader(8, () => {});
  t.is(
    codeOf(() => held.push(Buffer.from('AAAAAAAA\r'))),
    'no error',
  );
  t.is(
    codeOf(() => held.push(Buffer.from('A'))),
    Errors.FRAME_TOO_LONG.code,
  );
  const noCr = new LineReader(8, () => {});
  t.is(
    codeOf(() => noCr.push(Buffer.from('AAAAAAAAA'))),
    'no error',
    'M + 1 bytes may still end in CR LF as far as the reader knows',
  );
  t.is(
    codeOf(() => noCr.push(Buffer.from('\r\n'))),
    Errors.FRAME_TOO_LONG.code,
    'then the complete line has M + 1 characters',
  );
  // The channel raises the limit once the hello is verified, from inside the hello's callback.
  const lines: number[] = [];
  const reader: LineReader = new LineReader(8, (line) => {
    lines.push(line.length);
    reader.maxLineLength = 64;
  });
  reader.push(Buffer.from(`QUJD\r\n${'A'.repeat(40)}`));
  reader.push(Buffer.from(`${'A'.repeat(24)}\r\n`));
  t.deepEqual(lines, [4, 64]);
});

test('the 7-bit filter round-trips any bytes and rejects anything outside the alphabet', (t) => {
  for (let n = 1; n < 40; n++) {
    const bytes = randomBytes(n);
    t.deepEqual(fromSevenBit(Buffer.from(toSevenBit(bytes), 'latin1')), bytes);
  }
  for (const bad of ['QUJ', 'QU JD', 'QUJ\u00ff', 'QU=D', 'Q\rJD', '====', 'QUJD\u0000AAA', '']) {
    t.is(
      codeOf(() => fromSevenBit(Buffer.from(bad, 'latin1'))),
      Errors.FRAME_BAD_CHARS.code,
      JSON.stringify(bad),
    );
  }
  t.true(/^[A-Za-z0-9+/=]*$/.test(toSevenBit(randomBytes(1000))));
});

test('packet headers encode and decode; bad layouts are typed errors', (t) => {
  const salt = randomBytes(16);
  const bagId = randomBytes(8);
  const hello = decodeHeader(Buffer.concat([encodeHeader(1, KIND_HELLO, 0n, salt, bagId), Buffer.from('body')]));
  t.deepEqual(hello.header.salt, salt);
  t.deepEqual(hello.header.bagId, bagId);
  t.is(hello.body.toString(), 'body');
  const data = decodeHeader(encodeHeader(2, KIND_MESSAGES, 2n ** 63n));
  t.is(data.header.seq, 2n ** 63n);
  t.is(data.header.suiteId, 2);
  t.is(decodeHeader(encodeHeader(1, KIND_CHUNK, 5n)).header.kind, KIND_CHUNK);
  t.is(
    codeOf(() => decodeHeader(Buffer.alloc(10))),
    Errors.PACKET_MALFORMED.code,
  );
  for (const version of [1, 3]) {
    t.is(
      codeOf(() => decodeHeader(Buffer.from([version, 1, 2, 0, 0, 0, 0, 0, 0, 0, 0]))),
      Errors.PACKET_MALFORMED.code,
      `version ${version}`,
    );
  }
  t.is(
    codeOf(() => decodeHeader(Buffer.from([2, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0]))),
    Errors.PACKET_MALFORMED.code,
  );
  t.is(
    codeOf(() => decodeHeader(Buffer.from([2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 2]))),
    Errors.PACKET_MALFORMED.code,
  );
  t.is(decodeHeader(encodeHeader(1, KIND_REKEY, 9n)).header.kind, KIND_REKEY);
});

for (const name of SUITE_NAMES) {
  test(`${name} opens what it seals and refuses any change`, (t) => {
    const suite = suiteByName(name);
    const key = suite.prepare(randomBytes(suite.keyLength));
    const header = encodeHeader(suite.id, KIND_MESSAGES, 7n);
    for (const size of [0, 1, 7, 8, 9, 1000]) {
      const plaintext = randomBytes(size);
      const body = suite.seal(key, 7n, header, plaintext);
      t.deepEqual(suite.open(key, 7n, header, body), plaintext);
      t.true(body.length <= size + suite.overhead);
      const flipped = Buffer.from(body);
      flipped[size % flipped.length]! ^= 0x01;
      t.is(suite.open(key, 7n, header, flipped), null, 'body bit flip');
      const otherHeader = encodeHeader(suite.id, KIND_MESSAGES, 8n);
      t.is(suite.open(key, 8n, otherHeader, body), null, 'other sequence number');
      t.is(suite.open(key, 7n, header, body.subarray(0, body.length - 1)), null, 'truncated');
      t.is(suite.open(suite.prepare(randomBytes(suite.keyLength)), 7n, header, body), null, 'other key');
    }
  });
}

test('the key bag picks key[port mod N] and never prints its keys', (t) => {
  const keys = Array.from({ length: 5 }, () => randomBytes(32));
  const bag = new KeyBag(keys);
  t.is(bag.keyIndex(50001), 1);
  t.deepEqual(bag.keyForPort(50004), keys[4]);
  t.is(bag.id.length, 8);
  t.false(JSON.stringify(bag).includes(keys[0]!.toString('hex')));
  t.throws(() => bag.keyIndex(70000), { instanceOf: RangeError });
  t.is(
    codeOf(() => new KeyBag([])),
    Errors.KEYBAG_FORMAT.code,
  );
  t.is(
    codeOf(() => new KeyBag([randomBytes(31)])),
    Errors.KEYBAG_FORMAT.code,
  );
});

test('commlink options: defaults, and errors that name the field', (t) => {
  const bag = new KeyBag([randomBytes(32)]);
  const options = resolveOptions({ bag });
  t.is(options.suite, 'aes-256-gcm');
  t.deepEqual([...options.acceptSuites], ['aes-256-gcm'], 'DES is never accepted by default');
  t.true(Object.isFrozen(options));
  const message = (fn: () => unknown) => {
    try {
      fn();
    } catch (err) {
      return (err as Error).message;
    }
    return '';
  };
  t.regex(
    message(() => resolveOptions({ bag, maxPacketLength: 10 })),
    /options\.maxPacketLength must be/,
  );
  t.regex(
    message(() => resolveOptions({ bag, suite: 'des-cbc' as never })),
    /options\.suite/,
  );
  t.regex(
    message(() => resolveOptions({ bag, reconnectMinMs: 500, reconnectMaxMs: 100 })),
    /options\.reconnectMaxMs/,
  );
  t.regex(
    message(() => resolveOptions({ bag, handlers: { 'ffs.reply': () => ({}) } })),
    /options\.handlers\.ffs\.reply/,
  );
});

test('commlink options have the defaults and bounds of the configuration fields of the same name', (t) => {
  const bag = new KeyBag([randomBytes(32)]);
  const options = resolveOptions({ bag }) as unknown as Record<string, unknown>;
  const optionFields = configFields().filter((f) => f.segments[0] === 'commlink' && f.segments[1]! in options);
  t.deepEqual(
    optionFields.map((f) => f.segments[1]),
    [
      'suite',
      'acceptSuites',
      'maxPacketLength',
      'requestTimeoutMs',
      'heartbeatIntervalMs',
      'heartbeatTimeoutMs',
      'reconnectMinMs',
      'reconnectMaxMs',
      'maxInFlight',
      'streamWindowBytes',
      'handshakeTimeoutMs',
      'maxHandshaking',
      'refusalLogLines',
      'refusalLogIntervalMs',
      'desKeyLimitBytes',
    ],
  );
  for (const field of optionFields) {
    const name = field.segments[1]!;
    t.deepEqual(options[name], field.default, `default of ${name}`);
    if (field.valueType.type !== 'integer') continue;
    const [, min, max] = /^an integer >= (\d+) and <= (\d+)$/.exec(field.expectation)!.map(Number) as [number, number, number];
    const refusal = new RegExp(`^options\\.${name} must be an integer between ${min} and ${max}, got `);
    t.throws(() => resolveOptions({ bag, [name]: min - 1 }), { message: refusal }, `${name} below its minimum`);
    t.throws(() => resolveOptions({ bag, [name]: max + 1 }), { message: refusal }, `${name} above its maximum`);
  }
});
