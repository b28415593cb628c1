import test from 'ava';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { launchChromium, PASSWORD, portalSetup, requireEula } from './helpers/browser.js';

test('headless Chromium: sign in, accept the EULA, see the downloads, download the file (its SHA-256 as shown), sign out', async (t) => {
  const browser = await launchChromium(t);
  const { chain, sha256 } = await portalSetup(t);
  await requireEula(chain, 'Acme DB licence', 'You may use Acme DB.');
  const base = chain.web.httpUrl;
  const context = await browser.newContext({ acceptDownloads: true, javaScriptEnabled: false });
  t.teardown(() => context.close());
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });

  await page.goto(`${base}/downloads`);
  t.is(new URL(page.url()).pathname, '/signin', 'signed out: to the sign-in page');
  await page.getByLabel('Login').fill('globex');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}/downloads`);
  const [cookie] = (await context.cookies(base)).filter((c) => c.name === 'ffs_session');
  t.truthy(cookie, 'Chromium kept the session cookie');
  t.true(cookie!.secure && cookie!.httpOnly, 'Secure and HttpOnly, and it works at http://127.0.0.1');
  t.is(cookie!.sameSite, 'Lax');

  t.is(await page.getByRole('heading', { level: 1 }).textContent(), 'My downloads');
  t.is(await page.locator('code.hash').first().textContent(), sha256, 'the SHA-256 on the page');
  await page.getByRole('link', { name: 'Download acme-db-1.0.0.tar.gz' }).click();
  await page.waitForURL(/\/eula\/\d+\?next=/);
  t.regex((await page.locator('.eula').textContent()) ?? '', /You may use Acme DB\./);
  const first = page.waitForEvent('download');
  await page.getByRole('button', { name: 'I accept' }).click();
  const download = await first;
  t.is(download.suggestedFilename(), 'acme-db-1.0.0.tar.gz');
  const saved = await download.path();
  const digest = createHash('sha256')
    .update(await readFile(saved))
    .digest('hex');
  t.is(digest, sha256, 'the downloaded file is the published one');
  const artifacts = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { eulaAccepted: boolean }[];
  t.true(artifacts[0]!.eulaAccepted, 'the acceptance is recorded');

  await page.goto(`${base}/downloads`);
  t.is(await page.locator('code.hash').first().textContent(), sha256);
  const second = page.waitForEvent('download');
  await page.getByRole('link', { name: 'Download acme-db-1.0.0.tar.gz' }).click();
  t.is(
    createHash('sha256')
      .update(await readFile(await (await second).path()))
      .digest('hex'),
    sha256,
    'accepted once: straight to the file',
  );

  await page.getByRole('button', { name: 'Sign out' }).click();
  await page.waitForURL(`${base}/signin?signedOut=1`);
  t.regex((await page.getByRole('status').textContent()) ?? '', /You are signed out/);
  await page.goto(`${base}/downloads`);
  t.is(new URL(page.url()).pathname, '/signin', 'after sign-out /downloads goes to the sign-in page');

  await page.goto(`${base}/download/1`);
  t.is(new URL(page.url()).pathname, '/signin', 'a download link while signed out: sign in first');
  await page.getByLabel('Login').fill('globex');
  await page.getByLabel('Password').fill(PASSWORD);
  const third = page.waitForEvent('download');
  await page.getByRole('button', { name: 'Sign in' }).click();
  t.is(
    createHash('sha256')
      .update(await readFile(await (await third).path()))
      .digest('hex'),
    sha256,
    'then the download starts',
  );
  await page.waitForURL(`${base}/downloads?download=1`);
  t.deepEqual(problems, [], 'no console errors (CSP violations would show here)');
});
