import { Errors } from './errors.js';

/**
 * The 7-bit filter: standard base64 (RFC 4648 §4, alphabet A–Z a–z 0–9 + /, "=" padding).
 * A line must be a whole number of 4-character groups, and only the last group may be padded.
 */
export function toSevenBit(packet: Buffer): string {
  return packet.toString('base64');
}

/**
 * Strict decode. Node's decoder skips or stops at characters outside the alphabet, so any such
 * character makes the output shorter than the length the line implies; comparing the two
 * lengths rejects every non-alphabet byte (8-bit bytes included) without a per-byte loop.
 */
export function fromSevenBit(line: Buffer): Buffer {
  const length = line.length;
  if (length === 0 || length % 4 !== 0) {
    throw Errors.FRAME_BAD_CHARS(`line length ${length} is not a positive multiple of 4`, { length });
  }
  let padding = 0;
  if (line[length - 1] === 0x3d) padding = line[length - 2] === 0x3d ? 2 : 1;
  const decoded = Buffer.from(line.toString('latin1'), 'base64');
  if (decoded.length !== (length / 4) * 3 - padding) {
    throw Errors.FRAME_BAD_CHARS('line holds characters outside the base64 alphabet', { length });
  }
  return decoded;
}
