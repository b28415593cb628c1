import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { openChunkLine, sealChunkLine, type ChunkSealJob } from '../lib/commlink/index.js';
import { SUITE_NAMES } from '../lib/commlink/suites/index.js';
import { CryptoPool, CryptoPoolErrors, cryptoPoolDefaults, resolveCryptoPoolOptions } from '../lib/crypto-pool/index.js';
import { PooledTicketSigner, TicketSigner, TicketVerifier, type TicketClaims } from '../lib/tickets/index.js';
import { ticketKeys } from './helpers/chain.js';

const claims: TicketClaims = { customer: 'acme', path: '/product/1.0.0/setup.exe', expiresAt: Date.now() + 3_600_000, artifactId: 7, issuedAt: Date.now() };

function pool(t: { teardown(fn: () => Promise<void>): void }, options: ConstructorParameters<typeof CryptoPool>[0] = {}): CryptoPool {
  const p = new CryptoPool({ maxThreads: 2, minThreads: 0, ...options });
  t.teardown(() => p.close());
  return p;
}

test('options: defaults apply, and every bad field is refused with a message naming it', (t) => {
  const resolved = resolveCryptoPoolOptions();
  t.deepEqual(resolved, cryptoPoolDefaults);
  t.true(Object.isFrozen(resolved));
  t.is(resolveCryptoPoolOptions({ maxThreads: 1 }).minThreads, 1);
  const bad: [Record<string, unknown>, string][] = [
    [{ maxThreads: 0 }, 'options.maxThreads'],
    [{ maxThreads: 1.5 }, 'options.maxThreads'],
    [{ minThreads: -1 }, 'options.minThreads'],
    [{ maxThreads: 2, minThreads: 3 }, 'options.minThreads'],
    [{ idleTimeoutMs: 'soon' }, 'options.idleTimeoutMs'],
    [{ maxQueue: 0 }, 'options.maxQueue'],
    [{ maxPendingChunks: 0 }, 'options.maxPendingChunks'],
    [{ threads: 2 }, 'options.threads'],
  ];
  for (const [input, field] of bad) {
    const err = t.throws(() => resolveCryptoPoolOptions(input as never), { code: CryptoPoolErrors.OPTIONS.code });
    t.true(err!.message.startsWith(field), err!.message);
  }
  t.is(resolveCryptoPoolOptions({ maxQueue: Infinity }).maxQueue, Infinity);
});

test("pooled tickets have TicketSigner's format and verify with TicketVerifier", async (t) => {
  const keys = ticketKeys();
  const pooled = new PooledTicketSigner(pool(t), keys.privateKeyPem);
  const verifier = new TicketVerifier(keys.publicKeyPem, { cacheEntries: 0 });
  const inline = new TicketSigner(keys.privateKeyPem).sign(claims);
  // More tickets than threads, at once: each thread loads the key on its first ticket.
  const tickets = await Promise.all(Array.from({ length: 12 }, () => pooled.sign(claims)));
  for (const ticket of tickets) {
    const [version, payload, signature] = ticket.split('.');
    t.is(`${version}.${payload}`, inline.slice(0, inline.lastIndexOf('.')), 'same signed part as TicketSigner');
    t.is(signature!.length, inline.length - inline.lastIndexOf('.') - 1, 'same signature length');
    const verdict = verifier.verify(ticket);
    t.true(verdict.ok);
    if (verdict.ok) t.deepEqual(verdict.claims, { ...claims, expiresAt: Math.floor(claims.expiresAt / 1000) * 1000 });
  }
  t.true(verifier.verify(inline).ok);
});

test('a pooled signer refuses a public key at construction; an unknown key id is refused', async (t) => {
  const p = pool(t);
  t.throws(() => new PooledTicketSigner(p, ticketKeys().publicKeyPem), { instanceOf: TypeError });
  await t.throwsAsync(p.signTicket('no-such-key', 'v1.e30'), { code: CryptoPoolErrors.UNKNOWN_KEY.code });
});

test('close() aborts queued work with ERR_CRYPTO_POOL_CLOSED and refuses new tasks', async (t) => {
  const p = new CryptoPool({ maxThreads: 1, minThreads: 0 });
  const signer = new PooledTicketSigner(p, ticketKeys().privateKeyPem);
  const queued = Array.from({ length: 50 }, () =>
    signer.sign(claims).then(
      () => 'signed',
      (err: { code: string }) => err.code,
    ),
  );
  t.is(await queued[0], 'signed', 'the pool is at work: the first is signed, the rest wait their turn');
  await p.close();
  const outcomes = await Promise.all(queued);
  t.true(outcomes.includes(CryptoPoolErrors.CLOSED.code), outcomes.join(','));
  t.true(
    outcomes.every((o) => o === 'signed' || o === CryptoPoolErrors.CLOSED.code),
    outcomes.join(','),
  );
  await t.throwsAsync(signer.sign(claims), { code: CryptoPoolErrors.CLOSED.code });
  t.true(p.closed);
});

for (const suite of SUITE_NAMES) {
  test(`${suite}: a chunk sealed in the pool opens inline and the other way round`, async (t) => {
    const p = pool(t);
    const job: ChunkSealJob = { suite, keyMaterial: randomBytes(suite === 'aes-256-gcm' ? 32 : 56), seq: 42n, streamId: 3, data: randomBytes(64 * 1024) };
    const pooledLine = await p.sealChunk(job);
    if (suite === 'aes-256-gcm') t.true(pooledLine.equals(sealChunkLine(job)), 'byte-identical to the inline line (GCM is deterministic)');
    t.deepEqual(pooledLine.subarray(-2), Buffer.from('\r\n'));
    const opened = openChunkLine({ suite, keyMaterial: job.keyMaterial, seq: 42n, line: pooledLine.subarray(0, -2) });
    t.true('plaintext' in opened && opened.plaintext.subarray(4).equals(job.data));
    const inlineLine = sealChunkLine(job).subarray(0, -2);
    const back = await p.openChunk({ suite, keyMaterial: job.keyMaterial, seq: 42n, line: inlineLine });
    t.true('plaintext' in back && back.plaintext.readUInt32BE(0) === 3 && back.plaintext.subarray(4).equals(job.data));
    const tampered = Buffer.from(inlineLine);
    tampered[200] = tampered[200] === 0x41 ? 0x42 : 0x41;
    t.like(await p.openChunk({ suite, keyMaterial: job.keyMaterial, seq: 42n, line: tampered }), { code: 'ERR_PACKET_AUTH' });
    t.like(await p.openChunk({ suite, keyMaterial: job.keyMaterial, seq: 43n, line: inlineLine }), { code: 'ERR_PACKET_MALFORMED' });
  });
}

test('sha256File hashes a file on disk in a worker', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'ffs-crypto-pool-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const bytes = randomBytes(3 * 1024 * 1024 + 17);
  writeFileSync(join(dir, 'f.bin'), bytes);
  t.deepEqual(await pool(t).sha256File(join(dir, 'f.bin')), { sha256: createHash('sha256').update(bytes).digest('hex'), size: bytes.length });
});
