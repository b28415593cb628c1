import test from 'ava';
import { Errors } from '../lib/commlink/index.js';
import { decodeMessages, encodeMessage, parseElements, type Message, type Value } from '../lib/commlink/tobj/index.js';
import type { CodedError } from '../lib/errors/index.js';

const roundTrip = (body: Record<string, Value>, type = 'x.op') => decodeMessages(encodeMessage({ type, attrs: { id: '1' }, body }))[0] as Message;

const codeOf = (fn: () => unknown): string => {
  try {
    fn();
  } catch (err) {
    return (err as CodedError).code ?? `not a CodedError: ${String(err)}`;
  }
  return 'no error';
};

test('the example of DESIGN.md parses to its message', (t) => {
  const [message, ...rest] = decodeMessages('<tobj type="auth.check" id="17"><user>acme</user><proto>sftp</proto></tobj>');
  t.deepEqual(rest, []);
  t.deepEqual(message, { type: 'auth.check', attrs: { id: '17' }, body: { user: 'acme', proto: 'sftp' } });
});

test('every value type round-trips', (t) => {
  const controls = Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)).join('') + '\u007f';
  const body: Record<string, Value> = {
    plain: 'acme',
    empty: '',
    escapes: '<a href="x">&amp;</a> > <',
    controls,
    unicode: 'é 中文 \u{1f680} \u{10ffff} \ufffd',
    zero: 0,
    negative: -42,
    float: 3.141592653589793,
    tiny: 5e-324,
    huge: 1.7976931348623157e308,
    yes: true,
    no: false,
    nothing: null,
    bin0: Buffer.alloc(0),
    bin1: Buffer.from([0xff]),
    bin2: Buffer.from([0, 1]),
    bin3: Buffer.from([1, 2, 3]),
    bin4: Buffer.from([1, 2, 3, 4]),
    bin5: Buffer.from([1, 2, 3, 4, 5]),
    list: [1, 'two', [3, [4]], { five: 5 }, null, true, ''],
    emptyList: [],
    emptyObject: {},
    nested: { a: { b: { c: { d: ['deep'] } } } },
  };
  t.deepEqual(roundTrip(body).body, body);
});

test('canonical encodings (these are the spec examples)', (t) => {
  const enc = (body: Record<string, Value>) => encodeMessage({ type: 't', attrs: {}, body });
  t.is(enc({}), '<tobj type="t"/>');
  t.is(enc({ s: 'a<b>&"c"' }), '<tobj type="t"><s>a&lt;b&gt;&amp;&quot;c&quot;</s></tobj>');
  t.is(enc({ s: 'line\nbreak\ttab\u0000nul\u007f' }), '<tobj type="t"><s>line&#xA;break&#x9;tab&#x0;nul&#x7F;</s></tobj>');
  t.is(enc({ e: '' }), '<tobj type="t"><e/></tobj>');
  t.is(enc({ n: -0, m: 1.5, k: 1e21 }), '<tobj type="t"><n t="num">0</n><m t="num">1.5</m><k t="num">1e+21</k></tobj>');
  t.is(enc({ b: true, z: null }), '<tobj type="t"><b t="bool">true</b><z t="null"/></tobj>');
  t.is(enc({ d: Buffer.from('hi') }), '<tobj type="t"><d t="bin">aGk=</d></tobj>');
  t.is(
    enc({ l: ['a', 2], o: { k: 'v' }, el: [], eo: {} }),
    '<tobj type="t"><l t="list"><i>a</i><i t="num">2</i></l><o t="obj"><k>v</k></o><el t="list"/><eo t="obj"/></tobj>',
  );
  t.is(enc({ u: 'é\u{1f680}' }), '<tobj type="t"><u>é\u{1f680}</u></tobj>');
  t.is(encodeMessage({ type: 'a&b', attrs: { id: '1', stream: '"2"' }, body: {} }), '<tobj type="a&amp;b" id="1" stream="&quot;2&quot;"/>');
  t.is(enc({ skipped: undefined as unknown as Value, kept: 'k' }), '<tobj type="t"><kept>k</kept></tobj>');
});

test('several messages in one payload, from a string or from UTF-8 bytes', (t) => {
  const payload = encodeMessage({ type: 'a', attrs: { id: '1' }, body: { x: 'é' } }) + encodeMessage({ type: 'b', attrs: {}, body: {} });
  for (const input of [payload, Buffer.from(payload, 'utf8')]) {
    const messages = decodeMessages(input);
    t.deepEqual(
      messages.map((m) => m.type),
      ['a', 'b'],
    );
    t.is(messages[0]?.body.x, 'é');
  }
});

test('escapes are decoded on input in either hex case; self-closing and empty forms are both accepted', (t) => {
  const [m] = decodeMessages('<tobj type="t"><a>&#x1F680;&#x1f680;&#xa;&lt;&gt;&amp;&quot;</a><b></b><c/></tobj>');
  t.deepEqual(m?.body, { a: '\u{1f680}\u{1f680}\n<>&"', b: '', c: '' });
});

const malformed: [string, string | Buffer, string][] = [
  ['empty payload', '', Errors.TOBJ_SYNTAX.code],
  ['text at top level', 'hello', Errors.TOBJ_SYNTAX.code],
  ['unclosed element', '<tobj type="t">', Errors.TOBJ_SYNTAX.code],
  ['unclosed child', '<tobj type="t"><a>x</tobj>', Errors.TOBJ_SYNTAX.code],
  ['mismatched end tag', '<tobj type="t"><a>x</b></tobj>', Errors.TOBJ_SYNTAX.code],
  ['unknown entity', '<tobj type="t"><a>&foo;</a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['entity without semicolon', '<tobj type="t"><a>&amp</a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['decimal character reference', '<tobj type="t"><a>&#65;</a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['surrogate reference', '<tobj type="t"><a>&#xD800;</a></tobj>', Errors.TOBJ_ENCODING.code],
  ['reference beyond Unicode', '<tobj type="t"><a>&#x110000;</a></tobj>', Errors.TOBJ_ENCODING.code],
  ['raw control character', '<tobj type="t"><a>a\nb</a></tobj>', Errors.TOBJ_ENCODING.code],
  ['raw DEL', '<tobj type="t"><a>\u007f</a></tobj>', Errors.TOBJ_ENCODING.code],
  ['raw > in text', '<tobj type="t"><a>a>b</a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['raw " in text', '<tobj type="t"><a>"</a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['raw < in attribute', '<tobj type="a<b"/>', Errors.TOBJ_SYNTAX.code],
  ['unquoted attribute', '<tobj type=t/>', Errors.TOBJ_SYNTAX.code],
  ['single-quoted attribute', "<tobj type='t'/>", Errors.TOBJ_SYNTAX.code],
  ['two spaces between attributes', '<tobj  type="t"/>', Errors.TOBJ_SYNTAX.code],
  ['duplicate attribute', '<tobj type="t" id="1" id="2"/>', Errors.TOBJ_SYNTAX.code],
  ['mixed content', '<tobj type="t"><a>x<b>y</b></a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['elements then text', '<tobj type="t"><a t="obj"><b>y</b>x</a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['whitespace between elements', '<tobj type="t"><a>1</a> <b>2</b></tobj>', Errors.TOBJ_SYNTAX.code],
  ['trailing garbage', '<tobj type="t"/>x', Errors.TOBJ_SYNTAX.code],
  ['name starting with a digit', '<tobj type="t"><1a>x</1a></tobj>', Errors.TOBJ_SYNTAX.code],
  ['non-ASCII name', '<tobj type="t"><é>x</é></tobj>', Errors.TOBJ_SYNTAX.code],
  ['lone surrogate in a string', '<tobj type="t"><a>\ud800</a></tobj>', Errors.TOBJ_ENCODING.code],
  ['invalid UTF-8 bytes', Buffer.from([0x3c, 0xff, 0x3e]), Errors.TOBJ_ENCODING.code],
  [
    'overlong UTF-8 encoding',
    Buffer.concat([Buffer.from('<tobj type="t"><a>'), Buffer.from([0xc0, 0xaf]), Buffer.from('</a></tobj>')]),
    Errors.TOBJ_ENCODING.code,
  ],
  ['depth 33', '<tobj type="t">' + '<a t="obj">'.repeat(31) + '<b>x</b>' + '</a>'.repeat(31) + '</tobj>', Errors.TOBJ_LIMIT.code],
  ['65-character name', `<tobj type="t"><${'a'.repeat(65)}>x</${'a'.repeat(65)}></tobj>`, Errors.TOBJ_LIMIT.code],
  ['17 attributes', `<tobj type="t"${Array.from({ length: 16 }, (_, i) => ` a${i}="1"`).join('')}/>`, Errors.TOBJ_LIMIT.code],
  ['number with exponent but no digits', '<tobj type="t"><n t="num">1e</n></tobj>', Errors.TOBJ_TYPE.code],
  ['hex number', '<tobj type="t"><n t="num">0x10</n></tobj>', Errors.TOBJ_TYPE.code],
  ['Infinity', '<tobj type="t"><n t="num">Infinity</n></tobj>', Errors.TOBJ_TYPE.code],
  ['a number of the JSON grammar beyond any double (1e999)', '<tobj type="t"><n t="num">1e999</n></tobj>', Errors.TOBJ_TYPE.code],
  ['a negative one (-1e999)', '<tobj type="t"><n t="num">-1e999</n></tobj>', Errors.TOBJ_TYPE.code],
  ['one hidden in a list (2E+400)', '<tobj type="t"><l t="list"><i t="num">2E+400</i></l></tobj>', Errors.TOBJ_TYPE.code],
  ['empty number', '<tobj type="t"><n t="num"/></tobj>', Errors.TOBJ_TYPE.code],
  ['leading zero', '<tobj type="t"><n t="num">01</n></tobj>', Errors.TOBJ_TYPE.code],
  ['bool that is not true/false', '<tobj type="t"><b t="bool">yes</b></tobj>', Errors.TOBJ_TYPE.code],
  ['null with content', '<tobj type="t"><z t="null">0</z></tobj>', Errors.TOBJ_TYPE.code],
  ['bad base64', '<tobj type="t"><d t="bin">a$==</d></tobj>', Errors.TOBJ_TYPE.code],
  ['unpadded base64', '<tobj type="t"><d t="bin">aGk</d></tobj>', Errors.TOBJ_TYPE.code],
  ['unknown type', '<tobj type="t"><x t="date">2026</x></tobj>', Errors.TOBJ_TYPE.code],
  ['list item not named i', '<tobj type="t"><l t="list"><j>1</j></l></tobj>', Errors.TOBJ_TYPE.code],
  ['list holding text', '<tobj type="t"><l t="list">1</l></tobj>', Errors.TOBJ_TYPE.code],
  ['duplicate field', '<tobj type="t"><a>1</a><a>2</a></tobj>', Errors.TOBJ_TYPE.code],
  ['__proto__ field', '<tobj type="t"><__proto__ t="obj"><admin t="bool">true</admin></__proto__></tobj>', Errors.TOBJ_TYPE.code],
  ['constructor field', '<tobj type="t"><constructor>x</constructor></tobj>', Errors.TOBJ_TYPE.code],
  ['extra attribute on a value', '<tobj type="t"><a t="num" x="1">1</a></tobj>', Errors.TOBJ_TYPE.code],
  ['string element holding elements', '<tobj type="t"><a><b>1</b></a></tobj>', Errors.TOBJ_TYPE.code],
  ['top-level element other than tobj', '<msg type="t"/>', Errors.TOBJ_TYPE.code],
  ['tobj without a type', '<tobj id="1"/>', Errors.TOBJ_TYPE.code],
  ['tobj with an empty type', '<tobj type=""/>', Errors.TOBJ_TYPE.code],
  ['tobj holding text', '<tobj type="t">hello</tobj>', Errors.TOBJ_TYPE.code],
];

for (const [name, input, code] of malformed) {
  test(`malformed: ${name} → ${code}`, (t) => {
    t.is(
      codeOf(() => decodeMessages(input)),
      code,
    );
  });
}

test('a 1,000,000-deep nesting is refused by the depth limit, without a stack overflow', (t) => {
  const deep = '<a>'.repeat(1_000_000);
  t.is(
    codeOf(() => parseElements(deep)),
    'ERR_TOBJ_LIMIT',
  );
  t.is(
    codeOf(() => parseElements(deep, { maxBytes: 10 })),
    'ERR_TOBJ_LIMIT',
  );
});

test('size and element-count limits', (t) => {
  const payload = encodeMessage({ type: 't', attrs: {}, body: { l: Array.from({ length: 50 }, (_, i) => i) } });
  t.is(
    codeOf(() => decodeMessages(payload, { maxBytes: payload.length - 1 })),
    Errors.TOBJ_LIMIT.code,
  );
  t.is(
    codeOf(() => decodeMessages(Buffer.from(payload), { maxBytes: payload.length - 1 })),
    Errors.TOBJ_LIMIT.code,
  );
  t.is(
    codeOf(() => decodeMessages(payload, { maxElements: 20 })),
    Errors.TOBJ_LIMIT.code,
  );
  t.is(
    codeOf(() => decodeMessages(payload)),
    'no error',
  );
});

test('errors carry the offset of the fault', (t) => {
  try {
    decodeMessages('<tobj type="t"><a>&bad;</a></tobj>');
    t.fail();
  } catch (err) {
    t.is((err as CodedError).details.offset, 18);
  }
});

test('values that cannot be encoded are refused with ERR_TOBJ_TYPE', (t) => {
  const cyclic: Record<string, Value> = {};
  cyclic.self = cyclic;
  const cases: [string, unknown][] = [
    ['NaN', NaN],
    ['Infinity', -Infinity],
    ['cycle', cyclic],
    ['bigint', 10n],
    ['Date', new Date()],
    ['Map', new Map()],
    ['function', () => 1],
    ['symbol', Symbol('s')],
    ['undefined in a list', [1, undefined]],
  ];
  for (const [name, value] of cases) {
    t.is(
      codeOf(() => encodeMessage({ type: 't', attrs: {}, body: { v: value as Value } })),
      Errors.TOBJ_TYPE.code,
      name,
    );
  }
  for (const key of ['1x', 'a b', '', 'é', '__proto__', 'constructor', 'x'.repeat(65)]) {
    t.is(
      codeOf(() => encodeMessage({ type: 't', attrs: {}, body: { [key]: 'v' } })),
      Errors.TOBJ_TYPE.code,
      `key ${JSON.stringify(key)}`,
    );
  }
  t.is(
    codeOf(() => encodeMessage({ type: '', attrs: {}, body: {} })),
    Errors.TOBJ_TYPE.code,
  );
  t.is(
    codeOf(() => encodeMessage({ type: 't', attrs: { 'bad name': '1' }, body: {} })),
    Errors.TOBJ_TYPE.code,
  );
  // A shared (not cyclic) sub-object is fine.
  const shared = { k: 'v' };
  t.deepEqual(roundTrip({ a: shared, b: shared }).body, { a: shared, b: shared });
});

test('decoded objects cannot pollute prototypes', (t) => {
  t.is(
    codeOf(() => decodeMessages('<tobj type="t" __proto__="x"/>')),
    Errors.TOBJ_TYPE.code,
  );
  t.is(
    codeOf(() => decodeMessages('<tobj type="t" constructor="x"/>')),
    Errors.TOBJ_TYPE.code,
  );
  const [m] = decodeMessages('<tobj type="t"><a t="obj"><toString>1</toString><hasOwnProperty>2</hasOwnProperty></a></tobj>');
  t.deepEqual(m?.body.a, { toString: '1', hasOwnProperty: '2' });
  t.is(typeof ({} as { toString: unknown }).toString, 'function', 'Object.prototype is untouched');
  const [n] = decodeMessages('<tobj type="t"><a>1</a><a2>2</a2></tobj>');
  t.deepEqual(n?.body, { a: '1', a2: '2' });
});

test('10,000 messages round-trip', (t) => {
  let ok = 0;
  for (let i = 0; i < 10_000; i++) {
    const body = { n: i, s: `item ${i} <${i % 7}>`, l: [i, -i] };
    const [m] = decodeMessages(encodeMessage({ type: 'op', attrs: { id: String(i) }, body }));
    if (m?.attrs.id === String(i) && m.body.n === i && m.body.s === body.s && (m.body.l as number[])[1] === -i) ok++;
  }
  t.is(ok, 10_000);
});

test('the tobj examples in PROTOCOL.md §10 are canonical: they decode and re-encode to the same text', async (t) => {
  const { readFileSync } = await import('node:fs');
  const { fileURLToPath } = await import('node:url');
  const protocol = readFileSync(fileURLToPath(new URL('../../lib/commlink/PROTOCOL.md', import.meta.url)), 'utf8');
  const section = protocol.split('**Messages.**')[1]?.split('```text\n')[1]?.split('\n```')[0] ?? '';
  const lines = section.split('\n').filter(Boolean);
  t.true(lines.length >= 5);
  for (const line of lines) {
    const [message, ...rest] = decodeMessages(line);
    t.deepEqual(rest, []);
    t.is(encodeMessage(message as Message), line);
  }
});
