import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { InternalDbService, type InternalDbOptions } from '../../services/internal-db/service.js';
import { silentLogger } from '../../lib/log/logger.js';
import { makeBag, makeClient } from './commlink.js';
import type { CommlinkClient, KeyBag } from '../../lib/commlink/index.js';

export interface DbFixture {
  dir: string;
  bag: KeyBag;
  service: InternalDbService;
  client: CommlinkClient;
  call: (op: string, body?: Record<string, unknown>) => Promise<Record<string, unknown>>;
}

/**
 * The options of a test's internal-db on the data directory `dir` (its database at db/fulfillment.sqlite):
 * listening on loopback (any free port), cheap scrypt, no scheduled backups, silent.
 */
export function internalDbOptions(dir: string, bag: KeyBag): InternalDbOptions {
  return {
    dbPath: join(dir, 'db', 'fulfillment.sqlite'),
    synchronous: 'full',
    scryptLogN: 14,
    authCacheSeconds: 300,
    backupDir: join(dir, 'backups'),
    backupIntervalMinutes: 0,
    backupKeep: 3,
    mode: 'listen',
    listenHost: '127.0.0.1',
    listenPort: 0,
    dialHost: '127.0.0.1',
    dialPort: 1,
    log: silentLogger,
    commlink: { bag },
  };
}

/** A real internal-db on a fresh database file in a temp dir, and a commlink client to it. */
export async function startInternalDb(t: ExecutionContext, overrides: Partial<InternalDbOptions> = {}): Promise<DbFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-db-'));
  const bag = overrides.commlink?.bag ?? makeBag();
  const service = await InternalDbService.start({ ...internalDbOptions(dir, bag), ...overrides, commlink: { bag, ...overrides.commlink } });
  // In dial mode nothing listens: the test talks through its own web-side server instead.
  const client = makeClient({ bag, port: service.address?.port ?? 1, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 });
  t.teardown(async () => {
    await client.close(0);
    await service.close(0);
    await rm(dir, { recursive: true, force: true });
  });
  const call = (op: string, body: Record<string, unknown> = {}) => client.request(op, body as never) as Promise<Record<string, unknown>>;
  return { dir, bag, service, client, call };
}

/** A vendor, a product with three published releases (1.0.0, 1.5.0, 2.0.0) and a customer. */
/** Every item of a listing operation (`key` holds the page's items), page after page. */
export async function listAll(call: DbFixture['call'], op: string, key: string, body: Record<string, unknown> = {}): Promise<Record<string, unknown>[]> {
  const all: Record<string, unknown>[] = [];
  let cursor: string | undefined;
  do {
    const page = await call(op, { ...body, limit: 500, ...(cursor === undefined ? {} : { cursor }) });
    all.push(...(page[key] as Record<string, unknown>[]));
    cursor = typeof page.next === 'string' ? page.next : undefined;
  } while (cursor !== undefined);
  return all;
}

export async function seedCatalogue(call: DbFixture['call']): Promise<void> {
  await call('vendor.create', { name: 'Acme Software' });
  await call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  for (const version of ['1.0.0', '1.5.0', '2.0.0']) {
    await call('release.create', { product: 'acme-db', version });
    await call('artifact.add', {
      product: 'acme-db',
      version,
      filename: `acme-db-${version}-linux-x64.tar.gz`,
      size: 1000,
      sha256: 'a'.repeat(64),
      platform: 'linux',
      arch: 'x64',
      objectId: 'a'.repeat(64),
    });
    await call('release.publish', { product: 'acme-db', version });
  }
  await call('customer.create', { login: 'globex', name: 'Globex Corp', password: 'correct horse battery' });
}
