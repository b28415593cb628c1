import test from 'ava';
import { csrfOf, PASSWORD, portalSetup, requireEula } from './helpers/browser.js';

const attributes = (line: string) =>
  line
    .split(';')
    .slice(1)
    .map((a) => a.trim().toLowerCase());

test('sign-in: a wrong password shows an error and no session; the right one sets a Secure HttpOnly SameSite session cookie and redirects', async (t) => {
  const { client } = await portalSetup(t);
  const home = await client.get('/');
  t.is(home.status, 303);
  t.is(home.location, '/signin');
  const form = await client.get('/signin');
  t.is(form.status, 200);
  t.regex(form.headers.get('content-type') ?? '', /^text\/html/);
  t.regex(form.text, /<html lang="en">/);
  t.regex(form.text, /<label for="login">Login<\/label>\s*<input type="text" id="login"/);
  t.regex(form.text, /<label for="password">Password<\/label>\s*<input type="password" id="password"/);
  t.regex(form.text, /href="#main">Skip to main content/);
  t.regex(form.headers.get('content-security-policy') ?? '', /default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/);

  const wrong = await client.post('/signin', { csrf: csrfOf(form.text), login: 'globex', password: 'not the password' });
  t.is(wrong.status, 422);
  t.regex(wrong.text, /role="alert">The login or the password is not correct\./);
  t.regex(wrong.text, /value="globex"/, 'the login is kept in the form');
  t.false(
    wrong.setCookies.some((c) => c.startsWith('ffs_session=')),
    'no session cookie',
  );
  t.false(client.jar.has('ffs_session'));

  const right = await client.post('/signin', { csrf: csrfOf(wrong.text), login: 'globex', password: PASSWORD });
  t.is(right.status, 303);
  t.is(right.location, '/downloads');
  const session = right.setCookies.find((c) => c.startsWith('ffs_session='));
  t.truthy(session);
  const attrs = attributes(session!);
  t.true(attrs.includes('httponly'));
  t.true(attrs.includes('secure'), 'Secure on loopback with secureCookies auto');
  t.true(attrs.includes('samesite=lax'));
  t.true(attrs.includes('path=/'));
  t.true(attrs.some((a) => a.startsWith('expires=')));
  t.true(
    right.setCookies.some((c) => c.startsWith('ffs_session.sig=')),
    'signed',
  );
  t.true(
    right.setCookies.some((c) => c.startsWith('ffs_signin=;')),
    'the sign-in token is spent',
  );

  const downloads = await client.get('/downloads');
  t.is(downloads.status, 200);
  t.is(downloads.headers.get('cache-control'), 'no-store');
  t.regex(downloads.text, /Signed in as Globex Corp/);
  t.is((await client.get('/')).location, '/downloads');
  t.is((await client.get('/signin?next=%2Fdownloads%23x')).location, '/downloads#x', 'a signed-in visitor goes on');
});

test('sign-in honours a local next and refuses another site as next; a forged session cookie counts for nothing', async (t) => {
  const { client } = await portalSetup(t);
  const away = await client.get('/signin?next=%2F%2Fevil.example%2F');
  t.is(away.status, 400);
  t.regex(away.text, /query\.next/);
  const back = await client.signIn('globex', PASSWORD, '/eula/1');
  t.is(back.status, 303);
  t.is(back.location, '/eula/1');
  const forged = client.clone();
  const value = forged.jar.get('ffs_session')!;
  const claims = JSON.parse(Buffer.from(value, 'base64url').toString()) as Record<string, unknown>;
  forged.jar.set('ffs_session', Buffer.from(JSON.stringify({ ...claims, login: 'initech' })).toString('base64url'));
  const refused = await forged.get('/downloads');
  t.is(refused.status, 303);
  t.is(refused.location, '/signin?next=%2Fdownloads');
  t.is((await client.get('/downloads')).status, 200, 'the genuine cookie still works');
});

test('a POST without a valid CSRF token is refused (403, an HTML page with the request id) and changes nothing', async (t) => {
  const { chain, client } = await portalSetup(t);
  const eula = await requireEula(chain);
  t.is((await client.post('/signin', { login: 'globex', password: PASSWORD, csrf: 'x'.repeat(32) })).status, 403, 'sign-in without the sign-in cookie');
  t.is((await client.signIn('globex', PASSWORD)).status, 303);
  const page = await client.get(`/eula/${eula}`);
  const token = csrfOf(page.text);
  const missing = await client.post(`/eula/${eula}/accept`, {});
  t.is(missing.status, 403);
  t.regex(missing.headers.get('content-type') ?? '', /^text\/html/);
  t.regex(missing.text, /security token is missing or wrong/);
  t.regex(missing.text, new RegExp(`request id <code>${missing.headers.get('x-request-id')}</code>`));
  t.regex(missing.text, /ERR_CSRF/);
  t.is((await client.post(`/eula/${eula}/accept`, { csrf: token.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) })).status, 403, 'a wrong token');
  t.is((await client.post(`/eula/${eula}/accept`, { csrf: token }, { origin: 'https://evil.example' })).status, 403, 'another origin');
  t.is((await client.post(`/eula/${eula}/accept`, { csrf: token }, { 'sec-fetch-site': 'cross-site' })).status, 403, 'a cross-site fetch');
  t.is((await client.post('/stage', { product: 'acme-db', version: '1.0.0' })).status, 403, 'stage without a token');
  let artifacts = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { eulaAccepted: boolean }[];
  t.false(artifacts[0]!.eulaAccepted, 'nothing recorded');
  t.is(((await chain.call('staging.list', { customer: 'globex' })).stagings as unknown[]).length, 0, 'nothing staged');
  const accepted = await client.post(`/eula/${eula}/accept`, { csrf: token }, { origin: chain.web.httpUrl, 'sec-fetch-site': 'same-origin' });
  t.is(accepted.status, 303);
  artifacts = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { eulaAccepted: boolean }[];
  t.true(artifacts[0]!.eulaAccepted);
});

test('rate limiting: past the failures allowed per address, 429 with Retry-After even with the right password; failures for a login never lock it', async (t) => {
  const { chain, client } = await portalSetup(t, {
    webHttp: { loginFailuresPerLogin: 3, loginMaxDelayMs: 10, loginFailuresPerAddress: 5, loginWindowSeconds: 600 },
  });
  await chain.call('customer.create', { login: 'initech', name: 'Initech', password: PASSWORD });
  for (let i = 0; i < 3; i++) t.is((await client.signIn('globex', 'wrong password')).status, 422);
  const held = client.clone();
  t.is((await held.signIn('globex', PASSWORD)).status, 303, 'past the failures for this login: held back, then signed in');
  t.is((await client.signIn('initech', 'wrong password')).status, 422);
  t.is((await client.signIn('Not A Login!', 'whatever')).status, 422, 'a malformed login is a refused sign-in');
  const limited = await client.signIn('initech', PASSWORD);
  t.is(limited.status, 429, 'five failures from this address');
  t.regex(limited.text, /Too many failed sign-ins from this address/);
  const retryAfter = Number(limited.headers.get('retry-after'));
  t.true(retryAfter > 590 && retryAfter <= 600, String(retryAfter));
  t.false(client.jar.has('ffs_session'));
  const metrics = await (await fetch(`${chain.web.opsUrl}/metrics`)).text();
  t.regex(metrics, /ffs_web_auth_total\{method="password",outcome="rate_limited"\} 1/);
  t.regex(metrics, /ffs_web_auth_total\{method="password",outcome="refused"\} 5/);
  t.regex(metrics, /ffs_web_auth_total\{method="password",outcome="ok"\} 1/);
});

test('sign-out ends the session: the cookie is cleared and a copy of it no longer works', async (t) => {
  const { client } = await portalSetup(t);
  await client.signIn('globex', PASSWORD);
  const stolen = client.clone();
  const page = await client.get('/downloads');
  t.is((await client.post('/signout', {})).status, 403, 'sign-out needs the token too');
  t.is((await stolen.get('/downloads')).status, 200);
  const out = await client.post('/signout', { csrf: csrfOf(page.text) });
  t.is(out.status, 303);
  t.is(out.location, '/signin?signedOut=1');
  t.true(out.setCookies.some((c) => /^ffs_session=;.*expires=Thu, 01 Jan 1970/i.test(c)));
  t.false(client.jar.has('ffs_session'));
  t.regex((await client.get(out.location!)).text, /You are signed out\./);
  const again = await stolen.get('/downloads');
  t.is(again.status, 303);
  t.is(again.location, '/signin?next=%2Fdownloads');
  t.is((await stolen.get('/download/1')).location, '/signin?next=%2Fdownload%2F1');
});

test('a bad form field is a 400 page naming it', async (t) => {
  const { client } = await portalSetup(t);
  const form = await client.get('/signin');
  const extra = await client.post('/signin', { csrf: csrfOf(form.text), login: 'globex', password: PASSWORD, colour: 'blue' });
  t.is(extra.status, 400);
  t.regex(extra.text, /unknown field colour/);
  const empty = await client.post('/signin', { csrf: csrfOf(form.text), login: '', password: PASSWORD });
  t.is(empty.status, 400);
  t.regex(empty.text, /Field: <code>form\.login<\/code>/);
  await client.signIn('globex', PASSWORD);
  const page = await client.get('/downloads');
  const bad = await client.post('/stage', { csrf: csrfOf(page.text), product: 'Acme DB!', version: '1.0.0' });
  t.is(bad.status, 400);
  t.regex(bad.text, /form\.product/);
  t.is((await client.get('/download/abc')).status, 400);
  t.is((await client.get('/download/999')).status, 403, 'not entitled');
});

test('secureCookies never: the session cookie has no Secure attribute, even on loopback', async (t) => {
  const { client } = await portalSetup(t, { webHttp: { secureCookies: 'never' } });
  const right = await client.signIn('globex', PASSWORD);
  const session = right.setCookies.find((c) => c.startsWith('ffs_session='))!;
  t.false(attributes(session).includes('secure'));
  t.true(attributes(session).includes('httponly'));
  t.is((await client.get('/downloads')).status, 200);
});
