import { createHash } from 'node:crypto';
import { dataKeyMaterial, helloKeyMaterial, nextKeyMaterial } from './kdf.js';
import { KeyShare } from './key-share.js';
import { KeyBag } from './keybag.js';
import { formatKeyBag } from './keybag-file.js';
import { encodeHeader, KIND_CHUNK, KIND_HELLO, KIND_MESSAGES, KIND_REKEY } from './packet.js';
import { toSevenBit } from './filter.js';
import { sealWithIv } from './suites/des-ede3-cbc-hmac.js';
import { suiteByName, type SuiteName } from './suites/index.js';

/**
 * The test vectors of PROTOCOL.md, computed from fixed inputs with the implementation's own
 * primitives. scripts/gen-protocol-vectors.ts prints them; test/protocol-vectors.test.ts checks
 * that PROTOCOL.md still says exactly this.
 */

export const VECTOR_INPUTS = Object.freeze({
  /** key i = SHA-256 of the ASCII text "ffs-vector-key-<i>", for i = 0..3 */
  bagSize: 4,
  clientPort: 50001,
  clientSalt: Buffer.from('000102030405060708090a0b0c0d0e0f', 'hex'),
  serverSalt: Buffer.from('101112131415161718191a1b1c1d1e1f', 'hex'),
  /** The ephemeral X25519 private keys: Alice's and Bob's of RFC 7748 §6.1 (a real end makes fresh ones per connection). */
  clientKxPrivate: Buffer.from('77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a', 'hex'),
  serverKxPrivate: Buffer.from('5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb', 'hex'),
  desIv: Buffer.from('a0a1a2a3a4a5a6a7', 'hex'),
  clientHello:
    '<tobj type="ffs.hello"><proto>FFS/2</proto><kx t="bin">hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=</kx><window t="num">4194304</window></tobj>',
  serverHello:
    '<tobj type="ffs.hello"><proto>FFS/2</proto><echo t="bin">AAECAwQFBgcICQoLDA0ODw==</echo>' +
    '<kx t="bin">3p7bfXt9wbTTW2HC7OQ1Nz+DQ8hbeGdNrfx+FG+IK08=</kx><window t="num">4194304</window></tobj>',
  request: '<tobj type="auth.check" id="17"><user>acme</user><proto>sftp</proto></tobj>',
  reply: '<tobj type="ffs.reply" id="17"><ok t="bool">true</ok><customer>acme</customer></tobj>',
  chunkStream: 1,
  chunkData: Buffer.from('hello, bulk\n', 'ascii'),
  /** Sent after the REKEY packet (c2s seq 3), under the next c2s key (c2s seq 4). */
  afterRekey: '<tobj type="ffs.ping"/>',
});

export function vectorKeys(): Buffer[] {
  return Array.from({ length: VECTOR_INPUTS.bagSize }, (_, i) => createHash('sha256').update(`ffs-vector-key-${i}`, 'ascii').digest());
}

export type Vector = Record<string, string>;

export function computeVectors(): Record<string, Vector> {
  const v = VECTOR_INPUTS;
  const keys = vectorKeys();
  const bag = new KeyBag(keys);
  const index = bag.keyIndex(v.clientPort);
  const bagKey = bag.keyForPort(v.clientPort);
  const clientShare = new KeyShare(v.clientKxPrivate);
  const serverShare = new KeyShare(v.serverKxPrivate);
  const secret = clientShare.secretWith(serverShare.publicKey);
  const hellos = { clientSalt: v.clientSalt, serverSalt: v.serverSalt, clientShare: clientShare.publicKey, serverShare: serverShare.publicKey };
  const out: Record<string, Vector> = {
    keybag: {
      file: JSON.stringify(formatKeyBag(keys)),
      'bag id': bag.idHex,
      'client port': String(v.clientPort),
      'key index': String(index),
      'bag key': bagKey.toString('hex'),
    },
    x25519: {
      'client private': v.clientKxPrivate.toString('hex'),
      'client public (kx)': clientShare.publicKey.toString('hex'),
      'server private': v.serverKxPrivate.toString('hex'),
      'server public (kx)': serverShare.publicKey.toString('hex'),
      'shared secret': secret.toString('hex'),
    },
  };
  for (const name of ['aes-256-gcm', 'des-ede3-cbc-hmac-sha256'] as SuiteName[]) {
    const suite = suiteByName(name);
    const seal = (material: Buffer, seq: bigint, header: Buffer, plaintext: Buffer) => {
      const key = suite.prepare(material);
      return name === 'aes-256-gcm' ? suite.seal(key, seq, header, plaintext) : sealWithIv(key, header, plaintext, v.desIv);
    };
    const line = (header: Buffer, body: Buffer) => toSevenBit(Buffer.concat([header, body]));
    const helloC2s = helloKeyMaterial(bagKey, v.clientSalt, 'c2s', suite);
    const helloS2c = helloKeyMaterial(bagKey, v.serverSalt, 's2c', suite);
    const dataC2s = dataKeyMaterial(secret, bagKey, hellos, 'c2s', suite);
    const dataS2c = dataKeyMaterial(secret, bagKey, hellos, 's2c', suite);
    const nextC2s = nextKeyMaterial(dataC2s, 'c2s', suite);
    const clientHelloHeader = encodeHeader(suite.id, KIND_HELLO, 0n, v.clientSalt, bag.id);
    const serverHelloHeader = encodeHeader(suite.id, KIND_HELLO, 0n, v.serverSalt, bag.id);
    const requestHeader = encodeHeader(suite.id, KIND_MESSAGES, 1n);
    const replyHeader = encodeHeader(suite.id, KIND_MESSAGES, 1n);
    const chunkHeader = encodeHeader(suite.id, KIND_CHUNK, 2n);
    const rekeyHeader = encodeHeader(suite.id, KIND_REKEY, 3n);
    const afterHeader = encodeHeader(suite.id, KIND_MESSAGES, 4n);
    const streamId = Buffer.alloc(4);
    streamId.writeUInt32BE(v.chunkStream);
    out[name] = {
      'hello key c2s': helloC2s.toString('hex'),
      'hello key s2c': helloS2c.toString('hex'),
      'data key c2s': dataC2s.toString('hex'),
      'data key s2c': dataS2c.toString('hex'),
      'client hello header': clientHelloHeader.toString('hex'),
      'client hello line': line(clientHelloHeader, seal(helloC2s, 0n, clientHelloHeader, Buffer.from(v.clientHello))),
      'server hello line': line(serverHelloHeader, seal(helloS2c, 0n, serverHelloHeader, Buffer.from(v.serverHello))),
      'request header': requestHeader.toString('hex'),
      'request line (c2s seq 1)': line(requestHeader, seal(dataC2s, 1n, requestHeader, Buffer.from(v.request))),
      'reply line (s2c seq 1)': line(replyHeader, seal(dataS2c, 1n, replyHeader, Buffer.from(v.reply))),
      'chunk line (c2s seq 2)': line(chunkHeader, seal(dataC2s, 2n, chunkHeader, Buffer.concat([streamId, v.chunkData]))),
      'rekey line (c2s seq 3)': line(rekeyHeader, seal(dataC2s, 3n, rekeyHeader, Buffer.alloc(0))),
      'next data key c2s': nextC2s.toString('hex'),
      'ping line (c2s seq 4, next key)': line(afterHeader, seal(nextC2s, 4n, afterHeader, Buffer.from(v.afterRekey))),
    };
  }
  return out;
}

/** The vectors as the Markdown block PROTOCOL.md carries between its vector markers. */
export function vectorsMarkdown(): string {
  const sections: string[] = [];
  for (const [name, vector] of Object.entries(computeVectors())) {
    const lines = Object.entries(vector).map(([k, val]) => `${k}: ${val}`);
    sections.push(`#### ${name}\n\n\`\`\`text\n${lines.join('\n')}\n\`\`\``);
  }
  return sections.join('\n\n');
}
