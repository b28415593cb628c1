import { createHash } from 'node:crypto';
import { dataKeyMaterial, helloKeyMaterial } from './kdf.js';
import { KeyBag } from './keybag.js';
import { formatKeyBag } from './keybag-file.js';
import { encodeHeader, KIND_CHUNK, KIND_HELLO, KIND_MESSAGES } from './packet.js';
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
  desIv: Buffer.from('a0a1a2a3a4a5a6a7', 'hex'),
  clientHello: '<tobj type="ffs.hello"><proto>FFS/1</proto><window t="num">4194304</window></tobj>',
  serverHello: '<tobj type="ffs.hello"><proto>FFS/1</proto><echo t="bin">AAECAwQFBgcICQoLDA0ODw==</echo><window t="num">4194304</window></tobj>',
  request: '<tobj type="auth.check" id="17"><user>acme</user><proto>sftp</proto></tobj>',
  reply: '<tobj type="ffs.reply" id="17"><ok t="bool">true</ok><customer>acme</customer></tobj>',
  chunkStream: 1,
  chunkData: Buffer.from('hello, bulk\n', 'ascii'),
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
  const out: Record<string, Vector> = {
    keybag: {
      file: JSON.stringify(formatKeyBag(keys)),
      'bag id': bag.idHex,
      'client port': String(v.clientPort),
      'key index': String(index),
      'bag key': bagKey.toString('hex'),
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
    const dataC2s = dataKeyMaterial(bagKey, v.clientSalt, v.serverSalt, 'c2s', suite);
    const dataS2c = dataKeyMaterial(bagKey, v.clientSalt, v.serverSalt, 's2c', suite);
    const clientHelloHeader = encodeHeader(suite.id, KIND_HELLO, 0n, v.clientSalt, bag.id);
    const serverHelloHeader = encodeHeader(suite.id, KIND_HELLO, 0n, v.serverSalt, bag.id);
    const requestHeader = encodeHeader(suite.id, KIND_MESSAGES, 1n);
    const replyHeader = encodeHeader(suite.id, KIND_MESSAGES, 1n);
    const chunkHeader = encodeHeader(suite.id, KIND_CHUNK, 2n);
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
