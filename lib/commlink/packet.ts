import { Errors } from './errors.js';

/**
 * Binary packet layout (before the 7-bit filter). All integers big-endian.
 *
 *   0      version   0x02 (FFS/2; 0x01 was FFS/1, refused with a message saying so)
 *   1      suite     0x01 aes-256-gcm, 0x02 des-ede3-cbc-hmac-sha256
 *   2      kind      0x01 HELLO, 0x02 MESSAGES, 0x03 CHUNK, 0x04 REKEY
 *   3..10  seq       uint64, per direction, 0 for the hello, then +1 per packet
 *   HELLO only:
 *   11..26 salt      16 random bytes chosen by the sender
 *   27..34 bag id    first 8 bytes of SHA-256 over the bag's raw keys
 *   then   body      sealed by the suite; the header (all bytes above) is its associated data
 */
export const VERSION = 0x02;
/** The version byte of FFS/1, whose peers are refused by name (PROTOCOL.md §8). */
export const FFS1_VERSION = 0x01;
export const KIND_HELLO = 0x01;
export const KIND_MESSAGES = 0x02;
export const KIND_CHUNK = 0x03;
/** The sender seals everything after this packet with its direction's next key (PROTOCOL.md §6.3). */
export const KIND_REKEY = 0x04;

export const BASE_HEADER_LENGTH = 11;
export const SALT_LENGTH = 16;
export const BAG_ID_LENGTH = 8;
export const HELLO_HEADER_LENGTH = BASE_HEADER_LENGTH + SALT_LENGTH + BAG_ID_LENGTH;

export type PacketKind = typeof KIND_HELLO | typeof KIND_MESSAGES | typeof KIND_CHUNK | typeof KIND_REKEY;

export interface PacketHeader {
  readonly suiteId: number;
  readonly kind: PacketKind;
  readonly seq: bigint;
  /** HELLO only. */
  readonly salt?: Buffer;
  /** HELLO only. */
  readonly bagId?: Buffer;
  /** The raw header bytes: the associated data of the body. */
  readonly bytes: Buffer;
}

export function encodeHeader(suiteId: number, kind: PacketKind, seq: bigint, salt?: Buffer, bagId?: Buffer): Buffer {
  const hello = kind === KIND_HELLO;
  const header = Buffer.allocUnsafe(hello ? HELLO_HEADER_LENGTH : BASE_HEADER_LENGTH);
  header[0] = VERSION;
  header[1] = suiteId;
  header[2] = kind;
  header.writeBigUInt64BE(seq, 3);
  if (hello) {
    if (!salt || salt.length !== SALT_LENGTH || !bagId || bagId.length !== BAG_ID_LENGTH) {
      throw new RangeError('a hello header needs a 16-byte salt and an 8-byte bag id');
    }
    salt.copy(header, BASE_HEADER_LENGTH);
    bagId.copy(header, BASE_HEADER_LENGTH + SALT_LENGTH);
  }
  return header;
}

/** Splits a decoded packet into header and sealed body; checks only the layout. */
export function decodeHeader(packet: Buffer): { header: PacketHeader; body: Buffer } {
  if (packet.length < BASE_HEADER_LENGTH) {
    throw Errors.PACKET_MALFORMED(`packet of ${packet.length} bytes is shorter than a header`, { length: packet.length });
  }
  if (packet[0] !== VERSION) throw Errors.PACKET_MALFORMED(`unknown packet version ${packet[0]}`, { version: packet[0] });
  const kind = packet[2] as number;
  if (kind !== KIND_HELLO && kind !== KIND_MESSAGES && kind !== KIND_CHUNK && kind !== KIND_REKEY) {
    throw Errors.PACKET_MALFORMED(`unknown packet kind ${kind}`, { kind });
  }
  const seq = packet.readBigUInt64BE(3);
  if (kind === KIND_HELLO) {
    if (packet.length < HELLO_HEADER_LENGTH) throw Errors.PACKET_MALFORMED('hello packet shorter than its header');
    const bytes = packet.subarray(0, HELLO_HEADER_LENGTH);
    return {
      header: {
        suiteId: packet[1] as number,
        kind,
        seq,
        salt: packet.subarray(BASE_HEADER_LENGTH, BASE_HEADER_LENGTH + SALT_LENGTH),
        bagId: packet.subarray(BASE_HEADER_LENGTH + SALT_LENGTH, HELLO_HEADER_LENGTH),
        bytes,
      },
      body: packet.subarray(HELLO_HEADER_LENGTH),
    };
  }
  return {
    header: { suiteId: packet[1] as number, kind, seq, bytes: packet.subarray(0, BASE_HEADER_LENGTH) },
    body: packet.subarray(BASE_HEADER_LENGTH),
  };
}
