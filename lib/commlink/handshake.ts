import { Errors } from './errors.js';
import { dataKeyMaterial, helloKeyMaterial, type Direction } from './kdf.js';
import type { KeyBag } from './keybag.js';
import { decodeHeader, encodeHeader, KIND_HELLO } from './packet.js';
import { toLine } from './packet-codec.js';
import { suiteById, type CipherSuite, type SuiteName } from './suites/index.js';
import { decodeMessages, encodeMessage, type Value } from './tobj/index.js';

/**
 * The hello exchange of a commlink connection (PROTOCOL.md): each end sends one hello sealed with
 * a key derived from the bag key and its own fresh salt; the server answers the client's hello
 * and echoes its salt; both then derive per-direction data keys from both salts. The channel
 * (secure-channel.ts) owns the socket and the state; these functions hold the rules.
 */

export const PROTOCOL_NAME = 'FFS/1';

/** The hello line of one end: sequence number 0, its salt and the bag id in the header. */
export function helloLine(suite: CipherSuite, bagKey: Buffer, bag: KeyBag, ownSalt: Buffer, dir: Direction, fields: Record<string, Value>): Buffer {
  const key = suite.prepare(helloKeyMaterial(bagKey, ownSalt, dir, suite));
  const header = encodeHeader(suite.id, KIND_HELLO, 0n, ownSalt, bag.id);
  const body = suite.seal(key, 0n, header, Buffer.from(encodeMessage({ type: 'ffs.hello', attrs: {}, body: fields }), 'utf8'));
  return toLine(header, body);
}

export interface HelloReader {
  readonly role: 'client' | 'server';
  readonly bag: KeyBag;
  /** Server: the suites it accepts. */
  readonly acceptSuites: readonly SuiteName[];
  /** Client: the suite it offered. */
  readonly offered: CipherSuite | undefined;
  /** The client-side port of the connection (it picks the bag key). */
  readonly clientPort: number;
}

export interface PeerHello {
  readonly suite: CipherSuite;
  readonly bagKey: Buffer;
  readonly peerSalt: Buffer;
  /** The hello's fields (proto, window, echo …). */
  readonly fields: Record<string, Value>;
}

/**
 * Reads and checks the peer's hello: the same bag, a suite we accept (server) or the one we offered
 * (client), an authentic seal under the bag key the client port picks, an FFS/1 hello payload.
 * Throws ERR_HANDSHAKE or ERR_PACKET_AUTH saying which check failed.
 */
export function readHello(packet: Buffer, reader: HelloReader): PeerHello {
  const { header, body } = decodeHeader(packet);
  if (header.kind !== KIND_HELLO || header.seq !== 0n) {
    throw Errors.HANDSHAKE(`first packet is not a hello (kind ${header.kind}, seq ${header.seq})`);
  }
  const bagId = header.bagId as Buffer;
  if (!bagId.equals(reader.bag.id)) {
    throw Errors.HANDSHAKE(`peer uses another key bag (peer ${bagId.toString('hex')}, ours ${reader.bag.idHex})`, {
      peerBag: bagId.toString('hex'),
      ourBag: reader.bag.idHex,
    });
  }
  const isServer = reader.role === 'server';
  const offered = suiteById(header.suiteId);
  let suite: CipherSuite;
  if (isServer) {
    if (!offered || !reader.acceptSuites.includes(offered.name)) {
      throw Errors.HANDSHAKE(`peer offers suite ${offered?.name ?? `#${header.suiteId}`}, not accepted here (accepted: ${reader.acceptSuites.join(', ')})`);
    }
    suite = offered;
  } else {
    if (!reader.offered || offered !== reader.offered)
      throw Errors.HANDSHAKE(`peer answered with suite #${header.suiteId}, we offered ${reader.offered?.name}`);
    suite = reader.offered;
  }
  const bagKey = reader.bag.keyForPort(reader.clientPort);
  const peerSalt = header.salt as Buffer;
  const helloKey = suite.prepare(helloKeyMaterial(bagKey, peerSalt, isServer ? 'c2s' : 's2c', suite));
  const plaintext = suite.open(helloKey, 0n, header.bytes, body);
  if (!plaintext) {
    throw Errors.PACKET_AUTH(
      'hello does not authenticate: same bag but another key (do both ends see the same client port? ' +
        'address translation breaks the key index) or a forged hello',
    );
  }
  const messages = decodeMessages(plaintext);
  const hello = messages[0];
  if (messages.length !== 1 || !hello || hello.type !== 'ffs.hello' || hello.body.proto !== PROTOCOL_NAME) {
    throw Errors.HANDSHAKE('hello payload is not an FFS/1 hello');
  }
  return { suite, bagKey, peerSalt, fields: hello.body };
}

/** The data keys' material, ours to send with and the peer's to open with. */
export function dataKeys(
  suite: CipherSuite,
  bagKey: Buffer,
  clientSalt: Buffer,
  serverSalt: Buffer,
  role: 'client' | 'server',
): { send: Buffer; recv: Buffer } {
  const outDir: Direction = role === 'client' ? 'c2s' : 's2c';
  const inDir: Direction = outDir === 'c2s' ? 's2c' : 'c2s';
  return { send: dataKeyMaterial(bagKey, clientSalt, serverSalt, outDir, suite), recv: dataKeyMaterial(bagKey, clientSalt, serverSalt, inDir, suite) };
}
