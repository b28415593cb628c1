import type { ExecutionContext } from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { generateEd25519 } from '../../lib/ssh-keys.js';
import { startChain, type Chain, type ChainOptions } from './chain.js';
import { PASSWORD } from './ftp.js';

/**
 * A chain whose file host runs FTP and SFTP (in process), remembers logins (600 s: the feed is what
 * drops them) and keeps its feed state in `stateDir`; the customer globex exists (password
 * PASSWORD), nothing is published yet.
 */
export async function feedChain(t: ExecutionContext, options: ChainOptions = {}): Promise<Chain & { stateDir: string; hostKey: string }> {
  const stateDir = await mkdtemp(join(tmpdir(), 'ffs-feed-'));
  t.teardown(() => rm(stateDir, { recursive: true, force: true }));
  const hostKey = generateEd25519().private;
  const passive = 36_000 + Math.floor(Math.random() * 190) * 10;
  const chain = await startChain(t, {
    ...options,
    fileHost: {
      sftp: { port: 0, hostKey },
      ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 9, passiveAddress: '', requireTls: false },
      feedStateDir: stateDir,
      ...options.fileHost,
      sessions: { loginCacheSeconds: 600, ...options.fileHost?.sessions },
    },
  });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  return { ...chain, stateDir, hostKey };
}

/** Publishes `product` `version` (its vendor and product made when missing) with one artifact of `content`, stored on the chain's file host. */
export async function publishRelease(chain: Chain, product: string, version: string, content: Buffer, options: { publish?: boolean } = {}): Promise<string> {
  const { call } = chain;
  const vendors = (await call('vendor.list')).vendors as { name: string }[];
  if (!vendors.some((v) => v.name === 'Acme Software')) await call('vendor.create', { name: 'Acme Software' });
  const products = (await call('product.list', { vendor: 'Acme Software' })).products as { code: string }[];
  if (!products.some((p) => p.code === product)) await call('product.create', { vendor: 'Acme Software', code: product, name: product });
  const stored = await chain.web.fulfillment.ingest(Readable.from([content]), { size: content.length });
  const objectId = stored.objectId as string;
  await call('release.create', { product, version });
  await call('artifact.add', { product, version, filename: `${product}-${version}.bin`, size: content.length, sha256: objectId, objectId });
  if (options.publish !== false) await call('release.publish', { product, version });
  return objectId;
}

/** The internal-db's newest change sequence. */
export function head(chain: Chain): number {
  return chain.service.store.changes.head();
}

/** Milliseconds from now until `predicate` holds (polled every 5 ms), or throws after `timeoutMs`. */
export async function msUntil(predicate: () => boolean | Promise<boolean>, timeoutMs = 5000, what = 'the file host to act'): Promise<number> {
  const started = performance.now();
  for (;;) {
    if (await predicate()) return performance.now() - started;
    if (performance.now() - started > timeoutMs) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
