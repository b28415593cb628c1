import { commlinkFields } from '../config/schema.js';
import { Errors } from './errors.js';
import { dataKeyMaterial, helloKeyMaterial, type Direction, type HelloTranscript } from './kdf.js';
import { SHARE_LENGTH } from './key-share.js';
import type { KeyBag } from './keybag.js';
import { decodeHeader, encodeHeader, FFS1_VERSION, KIND_HELLO } from './packet.js';
import { toLine } from './packet-codec.js';
import { suiteById, suiteByName, SUITE_NAMES, type CipherSuite, type SuiteName } from './suites/index.js';
import { decodeMessages, encodeMessage, type Value } from './tobj/index.js';

/**
 * The hello exchange of a commlink connection (PROTOCOL.md §8): each end sends one hello sealed with
 * a key derived from the bag key and its own fresh salt, carrying an ephemeral X25519 public key;
 * the server answers the client's hello and echoes its salt; both then derive per-direction data
 * keys from the X25519 shared secret and the bag key. The channel (secure-channel.ts) owns the
 * socket and the state; these functions hold the rules.
 */

export const PROTOCOL_NAME = 'FFS/2';

/**
 * The longest line a receiver accepts before it has verified the peer's hello, in characters (CR LF
 * excluded). The largest hello this version sends is `largestHelloLine()` characters (356: a server
 * hello under the DES suite with a 9-digit window); the rest is room for fields a later version may
 * add. An unauthenticated peer can make a receiver hold no more than this (PROTOCOL.md §7).
 */
export const HELLO_MAX_LINE = 1024;

/** The range of a hello's `window` (bytes of credit a new stream starts with): the configuration's bounds. */
const windowSchema = commlinkFields.shape.streamWindowBytes.unwrap();
export const WINDOW_MIN = windowSchema.minValue as number;
export const WINDOW_MAX = windowSchema.maxValue as number;

/** The fields of a hello: the protocol, our X25519 public key, the window we grant; the server echoes the client salt. */
export interface HelloFields {
  readonly share: Buffer;
  readonly window: number;
  /** Server only: the client's salt. */
  readonly echo?: Buffer;
}

/** The hello line of one end: sequence number 0, its salt and the bag id in the header. */
export function helloLine(suite: CipherSuite, bagKey: Buffer, bag: KeyBag, ownSalt: Buffer, dir: Direction, hello: HelloFields): Buffer {
  const key = suite.prepare(helloKeyMaterial(bagKey, ownSalt, dir, suite));
  const header = encodeHeader(suite.id, KIND_HELLO, 0n, ownSalt, bag.id);
  const body: Record<string, Value> = { proto: PROTOCOL_NAME };
  if (hello.echo) body.echo = hello.echo;
  body.kx = hello.share;
  body.window = hello.window;
  const plaintext = Buffer.from(encodeMessage({ type: 'ffs.hello', attrs: {}, body }), 'utf8');
  const line = toLine(header, suite.seal(key, 0n, header, plaintext));
  if (line.length - 2 > HELLO_MAX_LINE) throw Errors.HANDSHAKE(`our hello of ${line.length - 2} characters exceeds the hello bound ${HELLO_MAX_LINE}`);
  return line;
}

/** Characters (CR LF excluded) of the largest hello this version sends: the bound's margin is measured against it. */
export function largestHelloLine(): number {
  const salt = Buffer.alloc(16);
  const bag = { id: Buffer.alloc(8) } as KeyBag;
  const lengths = SUITE_NAMES.map((name: SuiteName) => {
    const suite = suiteByName(name);
    const hello = { share: Buffer.alloc(SHARE_LENGTH), window: WINDOW_MAX, echo: salt };
    return helloLine(suite, Buffer.alloc(32), bag, salt, 's2c', hello).length - 2;
  });
  return Math.max(...lengths);
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
  /** Client: its own salt, which the server's hello must echo. */
  readonly ownSalt?: Buffer;
}

export interface PeerHello {
  readonly suite: CipherSuite;
  readonly bagKey: Buffer;
  readonly peerSalt: Buffer;
  /** The peer's X25519 public key. */
  readonly peerShare: Buffer;
  /** The receive window per stream the peer grants. */
  readonly window: number;
}

/**
 * Reads and checks the peer's hello: the same protocol version and bag, a suite we accept (server)
 * or the one we offered (client), an authentic seal under the bag key the client port picks, an
 * FFS/2 hello payload with a key share and a valid window (and, from a server, the echo of our salt).
 * Throws ERR_HANDSHAKE or ERR_PACKET_AUTH saying which check failed.
 */
export function readHello(packet: Buffer, reader: HelloReader): PeerHello {
  if (packet[0] === FFS1_VERSION) {
    throw Errors.HANDSHAKE('peer speaks FFS/1 (packet version 1); this end speaks FFS/2 only: deploy the three services of one release together');
  }
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
  if (messages.length !== 1 || !hello || hello.type !== 'ffs.hello') throw Errors.HANDSHAKE('hello payload is not one ffs.hello message');
  const { proto, kx, window, echo } = hello.body;
  if (proto !== PROTOCOL_NAME) throw Errors.HANDSHAKE(`hello says protocol ${JSON.stringify(proto)}, not ${PROTOCOL_NAME}`);
  if (!(kx instanceof Uint8Array) || kx.length !== SHARE_LENGTH) throw Errors.HANDSHAKE(`hello without a ${SHARE_LENGTH}-byte key share (kx)`);
  if (typeof window !== 'number' || !Number.isInteger(window) || window < WINDOW_MIN || window > WINDOW_MAX) {
    throw Errors.HANDSHAKE(`hello window must be an integer from ${WINDOW_MIN} to ${WINDOW_MAX}, got ${JSON.stringify(window)}`);
  }
  if (!isServer && !(echo instanceof Uint8Array && reader.ownSalt && Buffer.from(echo).equals(reader.ownSalt))) {
    throw Errors.HANDSHAKE('server hello does not echo our salt');
  }
  return { suite, bagKey, peerSalt, peerShare: Buffer.from(kx), window };
}

/** The data keys' material, ours to send with and the peer's to open with. */
export function dataKeys(
  suite: CipherSuite,
  sharedSecret: Buffer,
  bagKey: Buffer,
  hellos: HelloTranscript,
  role: 'client' | 'server',
): { send: Buffer; recv: Buffer } {
  const outDir: Direction = role === 'client' ? 'c2s' : 's2c';
  const inDir: Direction = outDir === 'c2s' ? 's2c' : 'c2s';
  return {
    send: dataKeyMaterial(sharedSecret, bagKey, hellos, outDir, suite),
    recv: dataKeyMaterial(sharedSecret, bagKey, hellos, inDir, suite),
  };
}
