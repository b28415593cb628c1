import test from 'ava';
import { randomBytes } from 'node:crypto';
import { fromSevenBit, partsToSevenBitInto, sevenBitLength, toSevenBitInto } from '../lib/commlink/filter.js';

const SIZES = [1, 2, 3, 4, 47 * 1024, 48 * 1024, 48 * 1024 + 1, 48 * 1024 + 2, 200_003, 786_432];

test('the sliced encoder writes exactly the base64 of the whole packet, and the sliced decoder reads it back', (t) => {
  for (const size of SIZES) {
    const packet = randomBytes(size);
    const out = Buffer.alloc(sevenBitLength(size) + 5, 0x2a);
    const written = toSevenBitInto(packet, out, 3);
    t.is(written, sevenBitLength(size), `size ${size}`);
    t.is(out.toString('latin1', 3, 3 + written), packet.toString('base64'), `size ${size}`);
    t.true(fromSevenBit(out.subarray(3, 3 + written)).equals(packet), `size ${size}`);
  }
});

test('a character outside the alphabet or padding before the end is refused in any slice', (t) => {
  const line = Buffer.from(randomBytes(200_001).toString('base64'), 'latin1');
  for (const at of [0, 100, 65_535, 65_536, 70_000, 131_072, line.length - 5]) {
    for (const bad of [0x21, 0x3d, 0x0a, 0xc3, 0x20]) {
      const copy = Buffer.from(line);
      copy[at] = bad;
      t.throws(() => fromSevenBit(copy), { code: 'ERR_FRAME_BAD_CHARS' }, `byte ${bad} at ${at}`);
    }
  }
  t.throws(() => fromSevenBit(line.subarray(0, line.length - 1)), { code: 'ERR_FRAME_BAD_CHARS' });
  t.throws(() => fromSevenBit(Buffer.alloc(0)), { code: 'ERR_FRAME_BAD_CHARS' });
});

test('pieces are filtered as their concatenation, whatever their lengths', (t) => {
  for (const lengths of [[11, 4, 786_432, 16], [1, 1, 1, 1, 1], [2, 49_151, 3, 0, 7], [0], [5, 48 * 1024 * 3 + 1]]) {
    const parts = lengths.map((n) => randomBytes(n));
    const whole = Buffer.concat(parts);
    const out = Buffer.alloc(sevenBitLength(whole.length));
    t.is(partsToSevenBitInto(parts, out, 0), out.length, lengths.join(','));
    t.is(out.toString('latin1'), whole.toString('base64'), lengths.join(','));
  }
});
