import test from 'ava';
import { randomBytes } from 'node:crypto';
import type { Change } from '../lib/contracts/internal-db/changes.js';
import { api } from './helpers/api.js';
import { csrfOf, PASSWORD, PortalClient } from './helpers/browser.js';
import { publish, startChain, type Chain } from './helpers/chain.js';

async function token(chain: Chain, kind: string, owner?: string): Promise<{ id: number; token: string }> {
  const made = await chain.call('token.create', owner === undefined ? { kind } : { kind, owner });
  return { id: made.id as number, token: made.token as string };
}

/** Every change GET /api/v1/changes gives `bearer`, page after page of `limit`. */
async function everyChange(chain: Chain, bearer: string, query: string, limit: number): Promise<Change[]> {
  const all: Change[] = [];
  let cursor: string | undefined;
  do {
    const page = await api(chain, 'GET', `/api/v1/changes?limit=${limit}${query}${cursor === undefined ? '' : `&cursor=${cursor}`}`, { token: bearer });
    if (page.status !== 200) throw new Error(page.text);
    all.push(...(page.body.changes as Change[]));
    cursor = (page.body.next as string | null) ?? undefined;
  } while (cursor !== undefined);
  return all;
}

test('GET /api/v1/changes shows who made a change through the API (token id, address) or the portal (the customer), newest first, paged with a cursor', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  await publish(chain, '1.0.0', randomBytes(1000));
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const admin = await token(chain, 'admin');

  t.is((await api(chain, 'POST', '/api/v1/customers/globex/entitlements', { token: admin.token, json: { product: 'acme-db' } })).status, 201);
  const granted = await api(chain, 'GET', '/api/v1/changes?kind=entitlement.granted', { token: admin.token });
  t.is(granted.status, 200, granted.text);
  const [grant] = granted.body.changes as Change[];
  t.like(grant, { kind: 'entitlement.granted', customer: 'globex', product: 'acme-db', actor: { kind: 'token', id: String(admin.id) } });
  t.regex(grant!.actor.address ?? '', /^(::ffff:)?127\.0\.0\.1$/, 'from where');
  t.true(Date.now() - Date.parse(grant!.at) < 60_000, 'and when');

  // A customer in the portal: its sign-out is recorded as its own.
  const portal = new PortalClient(chain.web.httpUrl);
  t.is((await portal.signIn('globex', PASSWORD)).status, 303);
  const page = await portal.get('/downloads');
  t.is((await portal.post('/signout', { csrf: csrfOf(page.text) })).status, 303);
  const signedOut = await api(chain, 'GET', '/api/v1/changes?kind=customer.signed_out&customer=globex', { token: admin.token });
  t.like((signedOut.body.changes as Change[])[0], { kind: 'customer.signed_out', customer: 'globex', actor: { kind: 'customer', id: 'globex' } });

  // Paged: the pages of 2 are the whole log, newest first, each change once.
  const whole = await everyChange(chain, admin.token, '', 500);
  t.true(whole.length > 6);
  const paged = await everyChange(chain, admin.token, '', 2);
  t.deepEqual(paged, whole);
  t.true(
    whole.every((c, n) => n === 0 || c.seq < whole[n - 1]!.seq),
    'newest first',
  );
  // Filters narrow it.
  const ofGlobex = await everyChange(chain, admin.token, '&customer=globex', 3);
  t.true(ofGlobex.length >= 3);
  t.true(ofGlobex.every((c) => c.customer === 'globex'));
});

test('who made a change comes from the request, never from its body: a body naming "by" is refused and changes nothing', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  const admin = await token(chain, 'admin');
  const forged = await api(chain, 'POST', '/api/v1/vendors', { token: admin.token, json: { name: 'Forged', by: { kind: 'admin', id: 'root' } } });
  t.is(forged.status, 400);
  t.like(forged.body, { error: { code: 'ERR_INVALID_INPUT' } });
  t.is((await api(chain, 'GET', '/api/v1/changes?kind=vendor.created', { token: admin.token })).body.changes?.toString(), '');
  t.is((await api(chain, 'POST', '/api/v1/vendors', { token: admin.token, json: { name: 'Honest' } })).status, 201);
  const created = await api(chain, 'GET', '/api/v1/changes?kind=vendor.created', { token: admin.token });
  t.like((created.body.changes as Change[])[0], { vendor: 'Honest', actor: { kind: 'token', id: String(admin.id) } });
});

test('a vendor token sees its own vendor’s changes only (naming another vendor is 403); a customer token is refused', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  await publish(chain, '1.0.0', randomBytes(1000));
  await chain.call('vendor.create', { name: 'Initech Tools' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex' });
  const admin = await token(chain, 'admin');
  const acme = await token(chain, 'vendor', 'Acme Software');
  const initech = await token(chain, 'vendor', 'Initech Tools');
  const customer = await token(chain, 'customer', 'globex');
  t.is((await api(chain, 'POST', '/api/v1/products', { token: initech.token, json: { code: 'stapler', name: 'Stapler' } })).status, 201);
  t.is((await api(chain, 'POST', '/api/v1/customers/globex/entitlements', { token: admin.token, json: { product: 'stapler' } })).status, 201);

  const ofAcme = await everyChange(chain, acme.token, '', 100);
  t.true(ofAcme.some((c) => c.kind === 'product.created' && c.product === 'acme-db'));
  t.true(ofAcme.length > 0 && ofAcme.every((c) => c.vendor === 'Acme Software'), 'nothing of another vendor');
  const ofInitech = await everyChange(chain, initech.token, '', 100);
  t.true(ofInitech.some((c) => c.kind === 'product.created' && c.product === 'stapler' && c.actor.id === String(initech.id)));
  t.true(
    ofInitech.some((c) => c.kind === 'entitlement.granted' && c.customer === 'globex'),
    'the grants of its products',
  );
  t.true(ofInitech.every((c) => c.vendor === 'Initech Tools'));
  t.deepEqual(await everyChange(chain, acme.token, '&vendor=Acme%20Software', 100), ofAcme, 'naming itself is the same');

  const other = await api(chain, 'GET', '/api/v1/changes?vendor=Initech%20Tools', { token: acme.token });
  t.is(other.status, 403);
  t.like(other.body, { error: { code: 'ERR_FORBIDDEN' } });
  t.is((await api(chain, 'GET', '/api/v1/changes', { token: customer.token })).status, 403);
  t.is((await api(chain, 'GET', '/api/v1/changes')).status, 401);
  const adminView = await everyChange(chain, admin.token, '&vendor=Initech%20Tools', 100);
  t.deepEqual(adminView, ofInitech, 'an admin filters by vendor');
});

test('behind a trusted proxy the forwarded address is recorded; an overlong forged one is cut to what the log keeps, and the change still goes through', async (t) => {
  const chain = await startChain(t, { webHttp: { trustProxy: true } });
  const admin = await token(chain, 'admin');
  const create = (name: string, forwarded: string) =>
    api(chain, 'POST', '/api/v1/vendors', { token: admin.token, json: { name }, headers: { 'x-forwarded-for': forwarded } });
  t.is((await create('Proxied', '203.0.113.7')).status, 201);
  t.is((await create('Forged', 'x'.repeat(300))).status, 201);
  const { changes } = (await api(chain, 'GET', '/api/v1/changes?kind=vendor.created', { token: admin.token })).body as { changes: Change[] };
  t.like(changes[1], { vendor: 'Proxied', actor: { kind: 'token', id: String(admin.id), address: '203.0.113.7' } });
  t.like(changes[0], { vendor: 'Forged', actor: { address: 'x'.repeat(64) } });
});
