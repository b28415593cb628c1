import { createDecipheriv, createHash, createHmac, createPrivateKey, createPublicKey, diffieHellman, hkdfSync } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { HELLO_MAX_LINE, helloLine, largestHelloLine } from '../lib/commlink/handshake.js';
import { KeyBag } from '../lib/commlink/keybag.js';
import { suiteByName } from '../lib/commlink/suites/index.js';
import { computeVectors, VECTOR_INPUTS, vectorKeys, vectorsMarkdown } from '../lib/commlink/vectors.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const protocol = readFileSync(join(root, 'lib', 'commlink', 'PROTOCOL.md'), 'utf8');

/** Parses the "#### name" + ```text key: value``` blocks between the vector markers. */
function documentedVectors(): Record<string, Record<string, string>> {
  const block = protocol.split('<!-- vectors:begin -->')[1]?.split('<!-- vectors:end -->')[0] ?? '';
  const out: Record<string, Record<string, string>> = {};
  for (const match of block.matchAll(/#### (\S+)\n\n```text\n([\s\S]*?)\n```/g)) {
    const fields: Record<string, string> = {};
    for (const line of (match[2] as string).split('\n')) {
      const at = line.indexOf(': ');
      fields[line.slice(0, at)] = line.slice(at + 2);
    }
    out[match[1] as string] = fields;
  }
  return out;
}

test('PROTOCOL.md carries the vectors the implementation computes', (t) => {
  const documented = documentedVectors();
  t.deepEqual(Object.keys(documented), ['keybag', 'x25519', 'aes-256-gcm', 'des-ede3-cbc-hmac-sha256']);
  t.deepEqual(documented, computeVectors());
  t.true(protocol.includes(vectorsMarkdown()));
});

test('the hellos of the vectors are what the implementation sends', (t) => {
  // aes-256-gcm seals deterministically: the hello encoder must write the documented line.
  const v = VECTOR_INPUTS;
  const suite = suiteByName('aes-256-gcm');
  const bag = new KeyBag(vectorKeys());
  const documented = documentedVectors()['aes-256-gcm']!;
  const clientShare = Buffer.from(documentedVectors().x25519!['client public (kx)']!, 'hex');
  const serverShare = Buffer.from(documentedVectors().x25519!['server public (kx)']!, 'hex');
  const bagKey = bag.keyForPort(v.clientPort);
  const client = helloLine(suite, bagKey, bag, v.clientSalt, 'c2s', { share: clientShare, window: 4194304 });
  t.is(client.toString('latin1'), `${documented['client hello line']}\r\n`);
  const server = helloLine(suite, bagKey, bag, v.serverSalt, 's2c', { share: serverShare, window: 4194304, echo: v.clientSalt });
  t.is(server.toString('latin1'), `${documented['server hello line']}\r\n`);
});

test('the hello bound of PROTOCOL.md §7 leaves room above the largest hello, whose size it states', (t) => {
  const largest = largestHelloLine();
  t.is(largest, 356);
  t.true(largest * 2 < HELLO_MAX_LINE, 'at least twice the largest hello');
  t.true(protocol.includes(`The hello bound is ${HELLO_MAX_LINE} characters: the largest hello of FFS/2 is ${largest} characters`));
});

// ---------------------------------------------------------------------------------------------
// An independent receiver, written from PROTOCOL.md alone with raw node:crypto (no project code):
// if the document were not precise enough to interoperate, these would fail.

const SUITES: Record<string, { id: number; keyLength: number }> = {
  'aes-256-gcm': { id: 1, keyLength: 32 },
  'des-ede3-cbc-hmac-sha256': { id: 2, keyLength: 56 },
};

/** X25519 of a raw private key and a raw public key, through the DER wrappings of RFC 8410. */
function x25519(privateKey: Buffer, publicKey: Buffer): Buffer {
  const priv = createPrivateKey({ key: Buffer.concat([Buffer.from('302e020100300506032b656e04220420', 'hex'), privateKey]), format: 'der', type: 'pkcs8' });
  const pub = createPublicKey({ key: Buffer.concat([Buffer.from('302a300506032b656e032100', 'hex'), publicKey]), format: 'der', type: 'spki' });
  return diffieHellman({ privateKey: priv, publicKey: pub });
}

function hkdf(ikm: Buffer, salt: Buffer, info: string, length: number): Buffer {
  return Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from(info, 'ascii'), length));
}

function openPacket(suite: string, key: Buffer, line: string, expectSeq: bigint): { kind: number; plaintext: Buffer } {
  const packet = Buffer.from(line, 'base64');
  if (packet.toString('base64') !== line) throw new Error('not canonical base64');
  if (packet[0] !== 2 || packet[1] !== SUITES[suite]!.id) throw new Error('version or suite');
  const kind = packet[2] as number;
  if (packet.readBigUInt64BE(3) !== expectSeq) throw new Error('sequence');
  const headerLength = kind === 1 ? 35 : 11;
  const header = packet.subarray(0, headerLength);
  const body = packet.subarray(headerLength);
  if (suite === 'aes-256-gcm') {
    const nonce = Buffer.alloc(12);
    nonce.writeBigUInt64BE(expectSeq, 4);
    const d = createDecipheriv('aes-256-gcm', key, nonce);
    d.setAAD(header);
    d.setAuthTag(body.subarray(body.length - 16));
    return { kind, plaintext: Buffer.concat([d.update(body.subarray(0, body.length - 16)), d.final()]) };
  }
  const sealed = body.subarray(0, body.length - 32);
  const mac = createHmac('sha256', key.subarray(24)).update(header).update(sealed).digest();
  if (!mac.equals(body.subarray(body.length - 32))) throw new Error('mac');
  const d = createDecipheriv('des-ede3-cbc', key.subarray(0, 24), sealed.subarray(0, 8));
  return { kind, plaintext: Buffer.concat([d.update(sealed.subarray(8)), d.final()]) };
}

for (const suite of Object.keys(SUITES)) {
  test(`an independent decoder written from PROTOCOL.md opens the ${suite} vectors`, (t) => {
    const docs = documentedVectors();
    const v = docs[suite] as Record<string, string>;
    // §2: parse the bag file, compute the bag id; §3: the key index.
    const file = JSON.parse((docs.keybag as Record<string, string>).file as string) as string;
    const lines = file.split('\n');
    t.is(lines[0], 'FFS-KEYBAG/1 n=4');
    const keys = lines.slice(1, -1).map((l) => Buffer.from(l, 'base64'));
    t.is(keys.length, 4);
    keys.forEach((k, i) => t.deepEqual(k, createHash('sha256').update(`ffs-vector-key-${i}`).digest()));
    const bagId = createHash('sha256').update(Buffer.concat(keys)).digest().subarray(0, 8);
    t.is(bagId.toString('hex'), docs.keybag!['bag id']);
    const bagKey = keys[VECTOR_INPUTS.clientPort % keys.length] as Buffer;
    t.is(bagKey.toString('hex'), docs.keybag!['bag key']);

    // §8: the server receives the client hello.
    const len = SUITES[suite]!.keyLength;
    const clientHello = Buffer.from(v['client hello line'] as string, 'base64');
    const clientSalt = clientHello.subarray(11, 27);
    t.deepEqual(clientHello.subarray(27, 35), bagId);
    const helloC2s = hkdf(bagKey, clientSalt, `FFS/2 hello c2s ${suite}`, len);
    const hello = openPacket(suite, helloC2s, v['client hello line'] as string, 0n);
    t.is(hello.kind, 1);
    t.is(hello.plaintext.toString(), VECTOR_INPUTS.clientHello);
    const clientKx = Buffer.from(/<kx t="bin">([^<]+)<\/kx>/.exec(hello.plaintext.toString())![1]!, 'base64');

    // The client receives the server hello.
    const serverHello = Buffer.from(v['server hello line'] as string, 'base64');
    const serverSalt = serverHello.subarray(11, 27);
    const helloS2c = hkdf(bagKey, serverSalt, `FFS/2 hello s2c ${suite}`, len);
    const answer = openPacket(suite, helloS2c, v['server hello line'] as string, 0n).plaintext.toString();
    t.is(answer, VECTOR_INPUTS.serverHello);
    const serverKx = Buffer.from(/<kx t="bin">([^<]+)<\/kx>/.exec(answer)![1]!, 'base64');

    // §4: X25519 (RFC 7748) from either side's private key and the other's kx gives the same Z.
    const x = docs.x25519 as Record<string, string>;
    const z = x25519(Buffer.from(x['client private']!, 'hex'), serverKx);
    t.deepEqual(x25519(Buffer.from(x['server private']!, 'hex'), clientKx), z);
    t.is(z.toString('hex'), x['shared secret']);
    t.is(clientKx.toString('hex'), x['client public (kx)']);

    // §4 data keys, §5 packets, §12 chunk layout.
    const ikm = Buffer.concat([z, bagKey]);
    const salts = Buffer.concat([clientSalt, serverSalt, clientKx, serverKx]);
    const dataC2s = hkdf(ikm, salts, `FFS/2 data c2s ${suite}`, len);
    const dataS2c = hkdf(ikm, salts, `FFS/2 data s2c ${suite}`, len);
    t.is(dataC2s.toString('hex'), v['data key c2s']);
    const request = openPacket(suite, dataC2s, v['request line (c2s seq 1)'] as string, 1n);
    t.is(request.kind, 2);
    t.is(request.plaintext.toString(), VECTOR_INPUTS.request);
    t.is(openPacket(suite, dataS2c, v['reply line (s2c seq 1)'] as string, 1n).plaintext.toString(), VECTOR_INPUTS.reply);
    const chunk = openPacket(suite, dataC2s, v['chunk line (c2s seq 2)'] as string, 2n);
    t.is(chunk.kind, 3);
    t.is(chunk.plaintext.readUInt32BE(0), 1);
    t.deepEqual(chunk.plaintext.subarray(4), VECTOR_INPUTS.chunkData);
    t.is(chunk.plaintext.length, 4 + 11 + 1, 'stream id, the 11 bytes of "hello, bulk", LF');

    // §6.3: an empty REKEY under the current key, then the next key from the current one.
    const rekey = openPacket(suite, dataC2s, v['rekey line (c2s seq 3)'] as string, 3n);
    t.is(rekey.kind, 4);
    t.is(rekey.plaintext.length, 0);
    const nextC2s = hkdf(dataC2s, Buffer.alloc(0), `FFS/2 rekey c2s ${suite}`, len);
    t.is(nextC2s.toString('hex'), v['next data key c2s']);
    t.is(openPacket(suite, nextC2s, v['ping line (c2s seq 4, next key)'] as string, 4n).plaintext.toString(), VECTOR_INPUTS.afterRekey);
    t.throws(() => openPacket(suite, dataC2s, v['ping line (c2s seq 4, next key)'] as string, 4n), undefined, 'not under the old key');

    // §9: the same line at the wrong sequence number or under the other direction's key fails.
    t.throws(() => openPacket(suite, dataC2s, v['request line (c2s seq 1)'] as string, 2n));
    t.throws(() => openPacket(suite, dataS2c, v['request line (c2s seq 1)'] as string, 1n));
  });
}
