import test from 'ava';
import { api, makeTokens } from './helpers/api.js';
import { startChain, type Chain } from './helpers/chain.js';

/** Every item of an API listing, page after page, and how many pages it took. */
async function pageThrough(
  chain: Chain,
  path: string,
  token: string,
  key: string,
  limit?: number,
): Promise<{ items: Record<string, unknown>[]; pages: number }> {
  const items: Record<string, unknown>[] = [];
  let cursor: string | null = null;
  let pages = 0;
  do {
    const query = new URLSearchParams();
    if (limit !== undefined) query.set('limit', String(limit));
    if (cursor !== null) query.set('cursor', cursor);
    const res = await api(chain, 'GET', `${path}${path.includes('?') ? '&' : '?'}${query}`, { token });
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${res.text.slice(0, 300)}`);
    items.push(...(res.body[key] as Record<string, unknown>[]));
    cursor = res.body.next as string | null;
    pages++;
  } while (cursor !== null);
  return { items, pages };
}

test('every list pages: 10,000 customers, 1,200 audit events, 700 entitlements and 600 artifacts come whole, in order, each once', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex' });
  const tokens = await makeTokens(chain);
  // Bulk rows straight into the database (as years of use would leave them); the API reads them back.
  const db = chain.service.db;
  const now = new Date().toISOString();
  db.transaction(() => {
    const customer = db.prepare('INSERT INTO customers (login, name, created_at) VALUES (?, ?, ?)');
    for (let n = 0; n < 10_000; n++) customer.run(`c${String(n).padStart(5, '0')}`, `Customer ${n}`, now);
    const globex = (db.prepare("SELECT id FROM customers WHERE login = 'globex'").get() as { id: number }).id;
    const product = (db.prepare("SELECT id FROM products WHERE code = 'acme-db'").get() as { id: number }).id;
    const release = db.prepare(
      "INSERT INTO releases (product_id, version, channel, status, published_at, created_at) VALUES (?, ?, 'stable', 'published', ?, ?)",
    );
    const artifact = db.prepare(
      'INSERT INTO artifacts (release_id, filename, size, sha256, platform, arch, object_id, created_at) VALUES (?, ?, 1, ?, ?, ?, ?, ?)',
    );
    for (let n = 0; n < 600; n++) {
      const id = Number(release.run(product, `1.${n}.0`, now, now).lastInsertRowid);
      artifact.run(id, `acme-db-1.${n}.0.zip`, 'a'.repeat(64), 'any', 'any', 'a'.repeat(64), now);
    }
    const grant = db.prepare(
      "INSERT INTO entitlements (customer_id, product_id, version_range, starts_at, on_expiry, created_at) VALUES (?, ?, '*', ?, 'keep', ?)",
    );
    for (let n = 0; n < 700; n++) grant.run(globex, product, now, now);
    const event = db.prepare(
      "INSERT INTO download_events (event_id, customer_id, path, protocol, client_address, bytes, duration_ms, outcome, at) VALUES (?, ?, '/p', 'http', '127.0.0.1', 1, 1, 'complete', ?)",
    );
    // Many events share a time: the cursor must still tell them apart.
    for (let n = 0; n < 1200; n++)
      event.run(`bulk-event:${String(n).padStart(6, '0')}`, globex, new Date(Date.UTC(2026, 0, 1, 0, 0, Math.floor(n / 7))).toISOString());
  })();

  // Customers: a default page is 100; 500 at a time, 21 pages, sorted, each once (10,001 with globex).
  const first = await api(chain, 'GET', '/api/v1/customers', { token: tokens.admin });
  t.is(first.status, 200);
  t.is((first.body.customers as unknown[]).length, 100);
  t.is(typeof first.body.next, 'string');
  const customers = await pageThrough(chain, '/api/v1/customers', tokens.admin, 'customers', 500);
  const logins = customers.items.map((c) => c.login as string);
  t.is(logins.length, 10_001);
  t.is(new Set(logins).size, logins.length, 'no customer twice');
  t.deepEqual(logins, [...logins].sort(), 'by login');
  t.is(customers.pages, 21);

  // Audit: newest first across pages, events of the same second included once each.
  const audit = await pageThrough(chain, '/api/v1/audit?customer=globex', tokens.admin, 'events', 250);
  const ids = audit.items.map((e) => e.eventId as string);
  t.is(ids.length, 1200);
  t.is(new Set(ids).size, 1200);
  const times = audit.items.map((e) => e.at as string);
  t.deepEqual(times, [...times].sort().reverse(), 'newest first');

  // A customer's entitlements (admin's and the customer's own view), and what it may download.
  t.is((await pageThrough(chain, '/api/v1/customers/globex/entitlements', tokens.admin, 'entitlements', 300)).items.length, 700);
  t.is((await pageThrough(chain, '/api/v1/entitlements', tokens.customer, 'entitlements')).items.length, 700);
  const downloads = await pageThrough(chain, '/api/v1/downloads', tokens.customer, 'artifacts', 500);
  t.is(new Set(downloads.items.map((a) => a.artifactId)).size, 600);
  t.is(downloads.pages, 2);
  // The whole list still serves what needs it whole: a link for the oldest release.
  const oldest = downloads.items.find((a) => a.version === '1.0.0')!;
  const link = await api(chain, 'GET', `/api/v1/artifacts/${String(oldest.artifactId)}/link`, { token: tokens.customer });
  t.is((link.body.error as { code?: string }).code, 'ERR_NOT_FOUND', 'entitled (not ERR_NOT_ENTITLED): staging then finds no such object on the file host');
});

test('a bad page request is refused naming the field, and changes nothing', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex' });
  const tokens = await makeTokens(chain);
  for (const [query, field] of [
    ['limit=0', 'query.limit'],
    ['limit=501', 'query.limit'],
    ['limit=ten', 'query.limit'],
    ['cursor=!!', 'query.cursor'],
    [`cursor=${Buffer.from('["a",1]').toString('base64url')}`, 'cursor'],
    [`cursor=${Buffer.from('{"sql":"1"}').toString('base64url')}`, 'cursor'],
  ] as const) {
    const res = await api(chain, 'GET', `/api/v1/customers?${query}`, { token: tokens.admin });
    t.is(res.status, 400, query);
    t.is((res.body.error as { field?: string }).field, field, query);
  }
});
