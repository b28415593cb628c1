/**
 * Hostile input at the web host's edges, against the real chain: JSON nested a million deep, a
 * `next` the Location header cannot carry, and error messages that would echo megabytes.
 */
import test from 'ava';
import { api, makeTokens } from './helpers/api.js';
import { csrfOf, PASSWORD, portalSetup } from './helpers/browser.js';

test('a JSON body nested deeper than maxJsonDepth is refused before it is parsed (400 naming the limit); brackets in strings do not count', async (t) => {
  const { chain } = await portalSetup(t);
  const tokens = await makeTokens(chain);
  const depth = 1_000_000;
  const deep = `{"product":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  const refused = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, body: deep, headers: { 'content-type': 'application/json' } });
  t.is(refused.status, 400);
  t.like(refused.body, { error: { code: 'ERR_MALFORMED_BODY' } });
  t.regex((refused.body.error as { message: string }).message, /deeper than 64 levels/);
  t.is((await api(chain, 'GET', '/healthz')).status, 200);

  const at = (levels: number) => `{"product":"acme-db","version":"1.0.0","x":${'['.repeat(levels - 1)}${']'.repeat(levels - 1)}}`;
  const atLimit = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, body: at(64), headers: { 'content-type': 'application/json' } });
  t.like(atLimit.body, { error: { code: 'ERR_INVALID_INPUT', field: 'body.x' } }, '64 levels are parsed (and the unknown field named)');
  const over = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, body: at(65), headers: { 'content-type': 'application/json' } });
  t.like(over.body, { error: { code: 'ERR_MALFORMED_BODY' } }, '65 are not');
  const inString = JSON.stringify({ product: `${'['.repeat(10_000)}"\\{`, version: '1.0.0' });
  const text = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, body: inString, headers: { 'content-type': 'application/json' } });
  t.like(text.body, { error: { code: 'ERR_INVALID_INPUT', field: 'body.product' } }, 'brackets (and an escaped quote) inside a string are text');
});

test('a next outside ASCII is refused with 400 (it cannot be put in a Location header), signed in or not', async (t) => {
  const { client } = await portalSetup(t);
  const page = await client.get('/signin');
  for (const next of ['/downloads/\u{1f4e6}', '/t\u00e9l\u00e9chargements']) {
    // Past U+00FF, Node cannot write it in a header at all (a 500 once the customer had signed in); below, it would be sent as Latin-1.
    const posted = await client.post('/signin', { csrf: csrfOf(page.text), login: 'globex', password: PASSWORD, next });
    t.is(posted.status, 400, posted.text.slice(0, 200));
    t.regex(posted.text, /form\.next/);
    t.false(client.jar.has('ffs_session'), 'nothing happened: not signed in');
  }
  for (const next of ['/t%C3%A9l%C3%A9chargements', '/%E2%80%A8x', '/%F0%9F%93%A6']) {
    const answer = await client.get(`/signin?next=${next}`);
    t.is(answer.status, 400, next);
    t.regex(answer.text, /query\.next/);
  }
  t.is((await client.signIn('globex', PASSWORD)).status, 303);
  const signedIn = await client.get('/signin?next=%2Fdownloads%2F%F0%9F%93%A6');
  t.is(signedIn.status, 400, 'signed in: refused, not a 500');
  t.is((await client.get('/signin?next=%2Fdownloads%2F%25C3%25A9')).location, '/downloads/%C3%A9', 'percent-encoded, it is taken');
});

test('an error about unknown fields names the first five, each cut short, and counts the rest: a short answer whatever was sent', async (t) => {
  const { chain, client } = await portalSetup(t);
  const tokens = await makeTokens(chain);
  const body: Record<string, string> = { product: 'acme-db', version: '1.0.0' };
  for (let i = 0; i < 60_000; i++) body[`unknown-field-${String(i).padStart(6, '0')}`] = '';
  const many = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: body });
  t.is(many.status, 400);
  t.true(many.text.length < 1000, `${many.text.length} bytes answered`);
  const error = many.body.error as { code: string; message: string; field: string };
  t.is(error.code, 'ERR_INVALID_INPUT');
  t.regex(error.message, /^body unknown fields unknown-field-000000, unknown-field-000001, .*unknown-field-000004 and 59995 more$/);
  t.is(error.field, 'body.unknown-field-000000, unknown-field-000001, unknown-field-000002, unknown-field-000003, unknown-field-000004, …');

  const long = await api(chain, 'POST', '/api/v1/stagings', {
    token: tokens.customer,
    json: { product: 'acme-db', version: '1.0.0', ['k'.repeat(500_000)]: 1 },
  });
  t.is(long.status, 400);
  t.true(long.text.length < 1000, `${long.text.length} bytes answered`);
  t.regex((long.body.error as { message: string }).message, /unknown field k{64}…$/);

  const form = await client.get('/signin');
  const fields: Record<string, string> = { csrf: csrfOf(form.text), login: 'globex', password: PASSWORD };
  for (let i = 0; i < 20_000; i++) fields[`f${i}`] = '';
  const page = await client.post('/signin', fields);
  t.is(page.status, 400);
  t.regex(page.text, /unknown fields f0, f1, f2, f3, f4 and 19995 more/);
  t.true(page.text.length < 20_000, `${page.text.length} bytes answered`);
  const name = 'd'.repeat(300_000);
  const twice = await fetch(`${chain.web.httpUrl}/signin`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: `${name}=1&${name}=2`,
  });
  t.is(twice.status, 400);
  const answer = await twice.text();
  t.true(answer.length < 20_000, `a field given twice is named cut short too (${answer.length} bytes)`);
  t.regex(answer, /form field d{64}… is given twice/);
});
