import type { Connection } from 'ssh2';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { isError } from '../../../lib/errors/index.js';
import { BANNED_WORDS } from '../common/refusal-words.js';

/** SSH_MSG_DISCONNECT (RFC 4253 §11.1) and the reason codes sent here. */
const MSG_DISCONNECT = 1;
export const DISCONNECT_REASON = { hostNotAllowedToConnect: 1, tooManyConnections: 12, byApplication: 11 } as const;

/** The part of ssh2's private protocol object a disconnect with a description needs. */
interface PacketWriter {
  _packetRW?: { write?: { allocStartKEX?: number; alloc?: (size: number, force: boolean) => Buffer; finalize?: (packet: Buffer, force: boolean) => Buffer } };
  _cipher?: { encrypt?: (packet: Buffer) => void };
  disconnect?: (reason: number) => void;
}

/**
 * The SSH edge's words for a login the file host refuses for a reason the client should be told:
 * over a session limit (ERR_TOO_MANY_SESSIONS) the client is disconnected with
 * SSH_DISCONNECT_TOO_MANY_CONNECTIONS and the limit's message, as FTP answers `421 Too many
 * sessions: …`; OpenSSH prints "Received disconnect from …: 12: Too many sessions: …". An address the
 * defender banned while it was logging in (ERR_BANNED) is disconnected with
 * SSH_DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT and FTP's words for it. Undefined for every other
 * error (those are an authentication failure).
 */
export function disconnectionFor(err: unknown): { reason: number; description: string } | undefined {
  if (isError(err, FileHostErrors.TOO_MANY_SESSIONS))
    return { reason: DISCONNECT_REASON.tooManyConnections, description: `Too many sessions: ${(err as Error).message}` };
  if (isError(err, FileHostErrors.BANNED)) return { reason: DISCONNECT_REASON.hostNotAllowedToConnect, description: BANNED_WORDS };
  return undefined;
}

/**
 * Sends SSH_MSG_DISCONNECT with `reason` and `description`, then ends the connection. ssh2's own
 * disconnect takes no description, and a server connection offers none but `end()` (reason 11,
 * "by application", which clients do not show): the packet is written the way ssh2 writes its
 * own disconnect, through its private packet writer and cipher (`_protocol._packetRW`,
 * `_protocol._cipher`; usable before, during and after key exchange, like ssh2's). Should ssh2
 * change them, the reason alone is sent through its `disconnect(reason)`, or the connection is
 * ended (checked in test/ssh-commands.test.ts).
 */
export function disconnectWith(client: Connection, reason: number, description: string): void {
  const sock = (client as unknown as { _sock?: { writable?: boolean; end(): void } })._sock;
  if (!sock?.writable) return;
  const proto = (client as unknown as { _protocol?: PacketWriter })._protocol;
  const write = proto?._packetRW?.write;
  const text = Buffer.from(description.slice(0, 400), 'utf8');
  if (write?.alloc && write.finalize && typeof write.allocStartKEX === 'number' && proto?._cipher?.encrypt) {
    let p = write.allocStartKEX;
    const packet = write.alloc(1 + 4 + 4 + text.length + 4, true);
    packet[p] = MSG_DISCONNECT;
    packet.writeUInt32BE(reason, ++p);
    packet.writeUInt32BE(text.length, (p += 4));
    text.copy(packet, (p += 4));
    packet.writeUInt32BE(0, p + text.length); // no language tag
    proto._cipher.encrypt(write.finalize(packet, true));
  } else if (typeof proto?.disconnect === 'function') {
    proto.disconnect(reason);
  } else {
    client.end();
    return;
  }
  sock.end();
}
