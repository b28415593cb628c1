import type { ChunkOpenJob, ChunkOpenResult, ChunkSealJob } from './chunk-crypto.js';
import { Errors } from './errors.js';
import { fromSevenBit, partsToSevenBitInto, sevenBitLength } from './filter.js';
import { decodeHeader, encodeHeader, KIND_CHUNK, type PacketKind } from './packet.js';
import { suiteByName, type CipherSuite, type SuiteKey } from './suites/index.js';
import { CodedError } from '../errors/index.js';

/**
 * Sealing and opening of one data packet as a wire line: the one implementation both the channel
 * (inline) and a chunk-crypto worker run, so the two paths cannot differ on the wire.
 */

export const STREAM_ID_LENGTH = 4;

/** Bytes (given in pieces, in order) as one wire line: 7-bit filter, then CR LF, in a single buffer (one write call). */
export function toLine(...parts: Buffer[]): Buffer {
  const chars = sevenBitLength(parts.reduce((n, p) => n + p.length, 0));
  const line = Buffer.allocUnsafe(chars + 2);
  partsToSevenBitInto(parts, line, 0);
  line[chars] = 0x0d;
  line[chars + 1] = 0x0a;
  return line;
}

/**
 * Header, sealed body, 7-bit filter, CR LF: the line of a MESSAGES or CHUNK packet. Hot path: the
 * plaintext pieces are sealed as they are and the sealed pieces filtered straight into the line,
 * so a chunk is copied once by the cipher and once into the line, and nothing else.
 */
export function sealedLine(suite: CipherSuite, key: SuiteKey, kind: PacketKind, seq: bigint, parts: readonly Buffer[]): Buffer {
  const header = encodeHeader(suite.id, kind, seq);
  return toLine(header, ...suite.sealParts(key, seq, header, parts));
}

/** The stream id (uint32) then the data: a CHUNK packet's plaintext parts. */
export function chunkParts(streamId: number, data: Buffer): Buffer[] {
  const id = Buffer.allocUnsafe(STREAM_ID_LENGTH);
  id.writeUInt32BE(streamId, 0);
  return [id, data];
}

/** What a chunk-crypto worker runs to seal: the same line the channel would write inline. */
export function sealChunkLine(job: ChunkSealJob): Buffer {
  const suite = suiteByName(job.suite);
  return sealedLine(suite, suite.prepare(job.keyMaterial), KIND_CHUNK, job.seq, chunkParts(job.streamId, job.data));
}

/**
 * What a chunk-crypto worker runs to open: the same checks the channel makes inline, answered as
 * a result (an error object would lose its code crossing threads).
 */
export function openChunkLine(job: ChunkOpenJob): ChunkOpenResult {
  try {
    const suite = suiteByName(job.suite);
    const { header, body } = decodeHeader(fromSevenBit(job.line));
    if (header.kind !== KIND_CHUNK || header.suiteId !== suite.id || header.seq !== job.seq) {
      throw Errors.PACKET_MALFORMED(`packet ${header.seq} is not the chunk packet ${job.seq} it was taken for`);
    }
    const plaintext = suite.open(suite.prepare(job.keyMaterial), header.seq, header.bytes, body);
    if (!plaintext) throw Errors.PACKET_AUTH(`packet ${header.seq} does not authenticate (forged, tampered or truncated)`);
    if (plaintext.length < STREAM_ID_LENGTH) throw Errors.PACKET_MALFORMED('chunk packet without a stream id');
    return { plaintext };
  } catch (err) {
    if (err instanceof CodedError) return { code: err.code, message: err.message };
    return { code: Errors.PACKET_MALFORMED.code, message: `unexpected failure opening a chunk: ${(err as Error)?.message}` };
  }
}
