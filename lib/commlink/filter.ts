import { Errors } from './errors.js';

/**
 * The 7-bit filter: standard base64 (RFC 4648 §4, alphabet A–Z a–z 0–9 + /, "=" padding).
 * A line must be a whole number of 4-character groups, and only the last group may be padded.
 *
 * Hot path: a chunk packet's line is ~700 KB. Encoding or decoding it as one JavaScript string
 * would put a string of that size in V8's large-object space for every packet (freed only by
 * full collections: measured at ~15 % of an upload's CPU). Both directions therefore work in
 * slices of SLICE_BYTES input bytes (a multiple of 3) / SLICE_CHARS characters (a multiple of 4),
 * whose strings are small and die young; the bytes on the wire are exactly those of one encoding
 * of the whole packet.
 */
const SLICE_BYTES = 48 * 1024;
const SLICE_CHARS = (SLICE_BYTES / 3) * 4;

/** Base64 characters that encode `bytes` bytes. */
export function sevenBitLength(bytes: number): number {
  return Math.ceil(bytes / 3) * 4;
}

/** The base64 of a (small) packet as a string: hellos, vectors, tests. */
export function toSevenBit(packet: Buffer): string {
  return packet.toString('base64');
}

/** Writes the base64 of `packet` into `out` at `offset`; returns the characters written. */
export function toSevenBitInto(packet: Buffer, out: Buffer, offset: number): number {
  let at = offset;
  for (let start = 0; start < packet.length; start += SLICE_BYTES) {
    const end = Math.min(packet.length, start + SLICE_BYTES);
    at += out.write(packet.toString('base64', start, end), at, 'latin1');
  }
  return at - offset;
}

/**
 * Writes the base64 of the concatenation of `parts` into `out` at `offset`, without
 * concatenating them: the up to 2 bytes a part leaves over a multiple of 3 are carried into the
 * next. Returns the characters written.
 */
export function partsToSevenBitInto(parts: readonly Buffer[], out: Buffer, offset: number): number {
  let at = offset;
  let carry: Buffer | undefined;
  for (const part of parts) {
    let rest = part;
    if (carry) {
      const need = 3 - carry.length;
      if (rest.length < need) {
        carry = Buffer.concat([carry, rest]);
        continue;
      }
      at += out.write(Buffer.concat([carry, rest.subarray(0, need)]).toString('base64'), at, 'latin1');
      rest = rest.subarray(need);
      carry = undefined;
    }
    const whole = rest.length - (rest.length % 3);
    at += toSevenBitInto(rest.subarray(0, whole), out, at);
    if (whole < rest.length) carry = rest.subarray(whole);
  }
  if (carry) at += out.write(carry.toString('base64'), at, 'latin1');
  return at - offset;
}

/**
 * Strict decode. Node's decoder skips or stops at characters outside the alphabet, so any such
 * character makes the output shorter than the length the line implies; comparing the two
 * lengths rejects every non-alphabet byte (8-bit bytes included) without a per-byte loop. Each
 * slice is a whole number of groups, so it decodes on its own; padding inside a slice (not the
 * line's last group) also makes the output short.
 */
export function fromSevenBit(line: Buffer): Buffer {
  const length = line.length;
  if (length === 0 || length % 4 !== 0) {
    throw Errors.FRAME_BAD_CHARS(`line length ${length} is not a positive multiple of 4`, { length });
  }
  let padding = 0;
  if (line[length - 1] === 0x3d) padding = line[length - 2] === 0x3d ? 2 : 1;
  const expected = (length / 4) * 3 - padding;
  const decoded = Buffer.allocUnsafe(expected);
  let written = 0;
  for (let start = 0; start < length; start += SLICE_CHARS) {
    const end = Math.min(length, start + SLICE_CHARS);
    const slice = line.toString('latin1', start, end);
    // A slice decodes to at most 3/4 of its length; write() never goes past the buffer's end,
    // so a bad slice shows as a short total rather than an overflow.
    const n = decoded.write(slice, written, 'base64');
    if (n !== ((end - start) / 4) * 3 - (end === length ? padding : 0)) {
      throw Errors.FRAME_BAD_CHARS('line holds characters outside the base64 alphabet', { length });
    }
    written += n;
  }
  return decoded; // every slice decoded whole: `expected` bytes
}
