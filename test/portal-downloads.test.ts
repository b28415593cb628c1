import test from 'ava';
import { Client } from 'basic-ftp';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { csrfOf, PASSWORD, portalSetup, requireEula, type PortalClient } from './helpers/browser.js';
import { publish, waitFor, type Chain } from './helpers/chain.js';
import { readRemote, sftpConnect } from './helpers/sftp.js';

/** The portal's FTP test ports: below the kernel's ephemeral range, clear of the FTP tests' (20000-29999). */
const PASSIVE = { passivePortMin: 31_000 + Math.floor(Math.random() * 20) * 10, passiveAddress: '', requireTls: false };

/** A second vendor's product, published with one file, optionally with a hostile name. */
async function otherProduct(chain: Chain, code: string, name: string, filename = `${code}.bin`): Promise<void> {
  await chain.call('vendor.create', { name: `Vendor of ${code}` });
  await chain.call('product.create', { vendor: `Vendor of ${code}`, code, name });
  const content = randomBytes(1000);
  const stored = await chain.web.fulfillment.ingest(Readable.from([content]), { size: content.length });
  await chain.call('release.create', { product: code, version: '3.1.4', channel: 'beta' });
  await chain.call('artifact.add', {
    product: code,
    version: '3.1.4',
    filename,
    size: content.length,
    sha256: stored.objectId,
    objectId: stored.objectId,
    platform: 'windows',
    arch: 'arm64',
  });
  await chain.call('release.publish', { product: code, version: '3.1.4' });
}

async function stageForm(client: PortalClient): Promise<{ csrf: string; product: string; version: string }> {
  const page = await client.get('/downloads');
  return { csrf: csrfOf(page.text), product: 'acme-db', version: '1.0.0' };
}

test('/downloads lists the entitled release with channel, platform, size and SHA-256; a product not entitled is not listed', async (t) => {
  const { chain, client, sha256 } = await portalSetup(t);
  await otherProduct(chain, 'secret-tool', 'Secret Tool');
  const [artifact] = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { artifactId: number }[];
  t.is((await client.get('/downloads')).location, '/signin?next=%2Fdownloads');
  await client.signIn('globex', PASSWORD);
  const page = await client.get('/downloads');
  t.is(page.status, 200);
  t.is(page.headers.get('cache-control'), 'no-store');
  t.regex(page.text, /<h2 id="product-acme-db">Acme DB <span class="muted">\(acme-db\)<\/span><\/h2>/);
  t.regex(page.text, /Entitlement: all versions; active, no expiry/);
  t.regex(page.text, /<h3 id="release-acme-db-1\.0\.0-h">acme-db 1\.0\.0<\/h3>/);
  t.regex(page.text, /Channel stable · published/);
  t.regex(page.text, /<th scope="col">SHA-256<\/th>/);
  t.regex(page.text, /<th scope="row">acme-db-1\.0\.0\.tar\.gz<\/th>/);
  t.regex(page.text, /<td>any\/any<\/td>/);
  t.regex(page.text, /<data value="200000" title="200,000 bytes">195 KiB<\/data>/);
  t.true(page.text.includes(`<code class="hash">${sha256}</code>`), 'the SHA-256 in full');
  t.true(page.text.includes(`href="/download/${artifact!.artifactId}"`));
  t.regex(page.text, /<button type="submit" class="secondary" aria-label="Use FTP\/SFTP for acme-db 1\.0\.0">Use FTP\/SFTP<\/button>/);
  t.false(page.text.includes('secret-tool'), 'not entitled: not listed');
  t.false(page.text.includes('Secret Tool'));
});

test('EULA gate: a download goes to the EULA page until it is accepted; acceptance is recorded; then the download 303s to the file host', async (t) => {
  const { chain, client, content } = await portalSetup(t);
  const eula = await requireEula(chain);
  const [artifact] = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { artifactId: number }[];
  const id = artifact!.artifactId;
  const signin = await client.get(`/download/${id}`);
  t.is(signin.status, 303);
  t.is(signin.location, `/signin?next=%2Fdownload%2F${id}`);
  const signed = await client.signIn('globex', PASSWORD, `/download/${id}`);
  t.is(signed.location, `/downloads?download=${id}`, 'after sign-in, on to the download (started by My downloads: see below)');
  const listing = await client.get(signed.location!);
  t.regex(listing.text, new RegExp(`<meta http-equiv="refresh" content="0; url=/download/${id}">`));
  t.regex(listing.text, /Your download of acme-db-1\.0\.0\.tar\.gz \(acme-db 1\.0\.0\) starts now/);
  t.regex(listing.text, new RegExp(`<a href="/eula/${eula}\\?next=%2Fdownloads%23release-acme-db-1\\.0\\.0">Read and accept`));
  t.false((await client.get('/downloads?download=999')).text.includes('http-equiv'), 'not a download of theirs: nothing starts');
  const gate = await client.get(`/download/${id}`);
  t.is(gate.status, 303);
  t.is(gate.location, `/eula/${eula}?next=%2Fdownload%2F${id}`);
  const stage = await client.post('/stage', await stageForm(client));
  t.is(stage.status, 303);
  t.is(stage.location, `/eula/${eula}?next=%2Fdownloads%23release-acme-db-1.0.0`);
  const text = await client.get(gate.location!);
  t.is(text.status, 200);
  t.regex(text.text, /<h1>License agreement: Acme DB licence<\/h1>/);
  t.regex(text.text, /You may use Acme DB\.\nDo not resell it\./);
  t.regex(text.text, new RegExp(`<input type="hidden" name="next" value="/download/${id}">`));
  const accepted = await client.post(`/eula/${eula}/accept`, { csrf: csrfOf(text.text), next: `/download/${id}` });
  t.is(accepted.status, 303);
  t.is(accepted.location, `/downloads?download=${id}`, 'not straight to the file host: CSP form-action would block that redirect');
  const resolved = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { eulaAccepted: boolean }[];
  t.true(resolved[0]!.eulaAccepted, 'recorded in the internal-db');
  t.regex((await client.get(`/eula/${eula}`)).text, /You have accepted this agreement\./);
  const download = await client.get(`/download/${id}`);
  t.is(download.status, 303);
  t.true(download.location!.startsWith(`${chain.fileHost.httpUrl}/files/acme-db/1.0.0/`), download.location!);
  t.regex(download.location!, /\?ticket=/);
  const file = await fetch(download.location!);
  t.is(file.status, 200);
  t.true(Buffer.from(await file.arrayBuffer()).equals(content));
});

test('Use FTP/SFTP stages the release and shows the ftp:// and sftp:// URLs with the login; both work with the portal password', async (t) => {
  const { chain, client, content, sha256 } = await portalSetup(t, {
    fileHost: { ftp: { port: 0, ...PASSIVE, passivePortMax: PASSIVE.passivePortMin + 9 }, sftp: { port: 0, hostKey: generateEd25519().private } },
  });
  await client.signIn('globex', PASSWORD);
  const page = await client.post('/stage', await stageForm(client));
  t.is(page.status, 200);
  t.is(page.headers.get('cache-control'), 'no-store');
  const ftpUrl = `ftp://globex@127.0.0.1:${chain.fileHost.ftpAddress!.port}/acme-db/1.0.0/`;
  const sftpUrl = `sftp://globex@127.0.0.1:${chain.fileHost.sftpAddress!.port}/acme-db/1.0.0/`;
  t.true(page.text.includes(`<dt>FTP</dt><dd><a href="${ftpUrl}"><code>${ftpUrl}</code></a></dd>`), page.text);
  t.true(page.text.includes(`<dt>SFTP</dt><dd><a href="${sftpUrl}"><code>${sftpUrl}</code></a></dd>`));
  t.regex(page.text, /<dt>Login<\/dt><dd><code>globex<\/code><\/dd>/);
  t.regex(page.text, /your portal password/);
  t.true(page.text.includes(sha256));
  const http = /<li><a href="([^"]+)">acme-db-1\.0\.0\.tar\.gz<\/a>/.exec(page.text)![1]!.replaceAll('&amp;', '&');
  t.true(Buffer.from(await (await fetch(http)).arrayBuffer()).equals(content), 'the HTTP link downloads');
  t.is(((await chain.call('staging.list', { customer: 'globex' })).stagings as unknown[]).length, 1, 'the staging is recorded');

  const ftp = new Client(15_000);
  t.teardown(() => ftp.close());
  await ftp.access({ host: '127.0.0.1', port: chain.fileHost.ftpAddress!.port, user: 'globex', password: PASSWORD });
  const listing = await ftp.list('/acme-db/1.0.0');
  t.deepEqual(
    listing.map((f) => [f.name, f.size]),
    [['acme-db-1.0.0.tar.gz', content.length]],
  );
  const sftp = await sftpConnect({ port: chain.fileHost.sftpAddress!.port, username: 'globex', password: PASSWORD });
  t.teardown(sftp.close);
  t.true((await readRemote(sftp.sftp, '/acme-db/1.0.0/acme-db-1.0.0.tar.gz')).equals(content));
});

test('Use FTP/SFTP on a file host that serves neither says so and gives the HTTP links', async (t) => {
  const { client } = await portalSetup(t);
  await client.signIn('globex', PASSWORD);
  const page = await client.post('/stage', await stageForm(client));
  t.is(page.status, 200);
  t.regex(page.text, /This file host offers neither FTP nor SFTP\. Use the HTTP links below\./);
  t.false(page.text.includes('ftp://'));
  t.regex(page.text, /<li><a href="http:\/\/127\.0\.0\.1:\d+\/files\/acme-db\/1\.0\.0\/acme-db-1\.0\.0\.tar\.gz\?ticket=/);
});

test('hostile names are escaped: product name, EULA title and text, customer name, file name', async (t) => {
  const { chain, client } = await portalSetup(t);
  const evil = '<script>alert("x")</script>';
  await chain.call('customer.create', { login: 'mallory', name: `${evil} & Co`, password: PASSWORD });
  await otherProduct(chain, 'evil', `${evil} DB`, `<img src=x onerror=alert(1)>.exe`);
  await chain.call('entitlement.grant', { customer: 'mallory', product: 'evil' });
  const eula = (await chain.call('eula.create', { title: `${evil} terms`, body: `</div>${evil}` })).id as number;
  await chain.call('product.setEula', { product: 'evil', eula });
  await client.signIn('mallory', PASSWORD);
  const page = await client.get('/downloads');
  t.is(page.status, 200);
  t.false(page.text.includes('<script'), 'no script element');
  t.false(page.text.includes('<img'));
  t.regex(page.text, /<h2 id="product-evil">&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; DB/);
  t.regex(page.text, /Signed in as &lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; &amp; Co/);
  t.regex(page.text, /<th scope="row">&lt;img src=x onerror=alert\(1\)&gt;\.exe<\/th>/);
  t.regex(page.text, /aria-label="Download &lt;img src=x onerror=alert\(1\)&gt;\.exe"/);
  t.regex(page.text, /<td>windows\/arm64<\/td>/);
  t.regex(page.text, /Channel beta/);
  const terms = await client.get(`/eula/${eula}`);
  t.false(terms.text.includes('<script'));
  t.regex(terms.text, /<title>&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt; terms · Software downloads<\/title>/);
  t.regex(terms.text, /tabindex="0">&lt;\/div&gt;&lt;script&gt;/);
});

test("expiry rule: 'keep' keeps the releases published before the expiry, 'revoke' keeps none; each entitlement's status is shown", async (t) => {
  const { chain, client } = await portalSetup(t);
  await chain.call('customer.create', { login: 'initech', name: 'Initech', password: PASSWORD });
  await chain.call('customer.create', { login: 'hooli', name: 'Hooli', password: PASSWORD });
  const startsAt = new Date(Date.now() - 3600_000).toISOString();
  const expiresAt = new Date(Date.now() + 1500).toISOString();
  await chain.call('entitlement.grant', { customer: 'initech', product: 'acme-db', startsAt, expiresAt, onExpiry: 'keep' });
  await chain.call('entitlement.grant', { customer: 'hooli', product: 'acme-db', startsAt, expiresAt, onExpiry: 'revoke' });
  const initech = client.clone();
  await initech.signIn('initech', PASSWORD);
  t.regex((await initech.get('/downloads')).text, /active until .* UTC \(after that, releases published before then remain\)/);
  await waitFor(() => Date.now() > Date.parse(expiresAt), 5000, 'the expiry time to pass'); // one clock: the services run in this process
  await publish(chain, '2.0.0', randomBytes(100));
  const kept = await initech.get('/downloads');
  t.regex(kept.text, /Entitlement: all versions; expired on \d{4}-\d\d-\d\d \d\d:\d\d UTC: releases published before then remain/);
  t.regex(kept.text, /acme-db 1\.0\.0<\/h3>/);
  t.false(kept.text.includes('acme-db 2.0.0'), 'published after the expiry');
  const hooli = client.clone();
  await hooli.signIn('hooli', PASSWORD);
  const none = await hooli.get('/downloads');
  t.regex(none.text, /Entitlement: all versions; expired on .* UTC: no releases remain/);
  t.regex(none.text, /No releases are available to you now\./);
  t.false(none.text.includes('/download/'));
  const globex = await client.signIn('globex', PASSWORD);
  t.is(globex.status, 303);
  const both = await client.get('/downloads');
  t.true(both.text.indexOf('acme-db 2.0.0') < both.text.indexOf('acme-db 1.0.0'), 'newest first');
});
