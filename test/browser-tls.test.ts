import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import test from 'ava';
import { launchChromium, PASSWORD, portalSetup } from './helpers/browser.js';
import { makeCertificate } from './helpers/tls.js';

// A name that is not loopback: the session cookie is Secure because the connection is HTTPS, not because the host is local.
const HOST = 'portal.example';

test('Chromium over HTTPS (HTTP/2, the self-signed certificate trusted by its SPKI pin only): sign in, the downloads page, a download through the 303 to the file host; the session cookie is Secure and HttpOnly', async (t) => {
  const cert = await makeCertificate(t, [`DNS:${HOST}`, 'DNS:localhost', 'IP:127.0.0.1']);
  const { chain, sha256 } = await portalSetup(t, { webHttp: { tls: { cert: cert.cert, key: cert.key } } });
  const port = chain.web.httpAddress!.port;
  const browser = await launchChromium(t, [`--ignore-certificate-errors-spki-list=${cert.spkiPin}`, `--host-resolver-rules=MAP ${HOST} 127.0.0.1`]);
  const context = await browser.newContext({ acceptDownloads: true });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const base = `https://${HOST}:${port}`;

  await page.goto(`${base}/downloads`);
  t.is(new URL(page.url()).pathname, '/signin', 'signed out: to the sign-in page');
  await page.getByLabel('Login').fill('globex');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/downloads`);
  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'My downloads');
  // Evaluated in the page (DOM types are not in this project's lib).
  t.is(await page.evaluate<string>("performance.getEntriesByType('navigation')[0].nextHopProtocol"), 'h2', 'the page came over HTTP/2');
  const [cookie] = (await context.cookies(base)).filter((c) => c.name === 'ffs_session');
  t.truthy(cookie, 'Chromium kept the session cookie');
  t.true(cookie!.secure, 'Secure: the page came over HTTPS');
  t.true(cookie!.httpOnly);
  t.is(cookie!.sameSite, 'Lax');
  t.is(await page.locator('code.hash').first().textContent(), sha256);

  // The 303 leads to the file host's plain-HTTP download (a loopback address: no mixed-content block).
  const started = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download acme-db-1.0.0.tar.gz' }).click();
  const download = await started;
  t.regex(download.url(), /^http:\/\/127\.0\.0\.1:\d+\/files\//);
  t.is(
    createHash('sha256')
      .update(await readFile(await download.path()))
      .digest('hex'),
    sha256,
    'the downloaded file is the published one',
  );
  // Signing out (a form POST: the anti-forgery check reads the HTTP/2 :authority) works too.
  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${base}/signin?signedOut=1`);
});

test('without the pin Chromium refuses the self-signed certificate (nothing is trusted wholesale)', async (t) => {
  const cert = await makeCertificate(t);
  const { chain } = await portalSetup(t, { webHttp: { tls: { cert: cert.cert, key: cert.key } } });
  const browser = await launchChromium(t);
  const context = await browser.newContext();
  t.teardown(() => context.close());
  const page = await context.newPage();
  const error = await page.goto(`${chain.web.httpUrl}/signin`).then(
    () => '',
    (e: Error) => e.message,
  );
  t.regex(error, /ERR_CERT_AUTHORITY_INVALID/);
});
