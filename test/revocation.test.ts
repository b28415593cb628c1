import test, { type ExecutionContext } from 'ava';
import { randomBytes } from 'node:crypto';
import { silentLogger } from '../lib/log/logger.js';
import { WebService } from '../services/web/service.js';
import { api, makeTokens } from './helpers/api.js';
import { csrfOf, PASSWORD, PortalClient, portalSetup } from './helpers/browser.js';
import { publish, startChain, ticketKeys, type Chain } from './helpers/chain.js';
import { download, login, Raw, startFtp } from './helpers/ftp.js';
import { sftpConnect } from './helpers/sftp.js';
import { waitFor, within } from './helpers/wait.js';
import { generateEd25519 } from '../lib/ssh-keys.js';

/** acme-db 1.0.0 published, globex (with a password) entitled to it and staged, with tokens and a download link. */
async function staged(t: ExecutionContext, options: Parameters<typeof startChain>[1] = {}) {
  const chain = await startChain(t, { webHttp: { apiTokenCacheSeconds: 60 }, ...options });
  const content = randomBytes(50_000);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const tokens = await makeTokens(chain);
  const stagings = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } });
  t.is(stagings.status, 201);
  const file = (stagings.body.files as { url: string; path: string }[])[0]!;
  t.is((await fetch(file.url)).status, 200, 'the link works before');
  return { chain, content, tokens, link: file.url, path: file.path };
}

const areaFiles = async (chain: Chain, customer: string) =>
  (
    await chain.web.fulfillment
      .prune(customer)
      .then(() => chain.fileHost.stager.list(customer))
      .catch(() => [])
  ).map((f) => f.path);

test('a disabled customer keeps nothing: its token is refused at once (even remembered), its area is emptied and its links find nothing', async (t) => {
  const { chain, tokens, link } = await staged(t);
  t.is((await api(chain, 'GET', '/api/v1/entitlements', { token: tokens.customer })).status, 200, 'the token is remembered now');
  const disabled = await api(chain, 'PATCH', '/api/v1/customers/globex', { token: tokens.admin, json: { disabled: true } });
  t.is(disabled.status, 200);
  for (const path of ['/api/v1/entitlements', '/api/v1/downloads', '/api/v1/artifacts/1/link']) {
    t.is((await api(chain, 'GET', path, { token: tokens.customer })).status, 401, path);
  }
  t.is((await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } })).status, 401);
  t.deepEqual(await chain.fileHost.stager.list('globex'), [], 'its area is empty on the file host before the answer');
  // Nothing to find (404), or refused first: the change feed's cut-off for its customer (403).
  t.true([403, 404].includes((await fetch(link)).status), 'a link handed out before finds nothing');
  // A token of a disabled customer is refused by the internal-db itself, not only by this web host's memory.
  const fresh = await chain.call('token.create', { kind: 'customer', owner: 'globex' });
  await t.throwsAsync(chain.call('token.check', { token: fresh.token }), { message: /token refused/ });
  // Enabled again: new tokens work, and staging does.
  t.is((await api(chain, 'PATCH', '/api/v1/customers/globex', { token: tokens.admin, json: { disabled: false } })).status, 200);
  t.is((await api(chain, 'GET', '/api/v1/entitlements', { token: fresh.token as string })).status, 200);
});

test("a disabled vendor's token is refused at once, even remembered", async (t) => {
  const { chain, tokens } = await staged(t);
  t.is((await api(chain, 'GET', '/api/v1/products', { token: tokens.vendor })).status, 200);
  t.is((await api(chain, 'PATCH', '/api/v1/vendors/Acme%20Software', { token: tokens.admin, json: { disabled: true } })).status, 200);
  t.is((await api(chain, 'GET', '/api/v1/products', { token: tokens.vendor })).status, 401);
  t.is((await api(chain, 'GET', '/api/v1/vendors', { token: tokens.admin })).body.vendors instanceof Array, true);
  t.true(((await api(chain, 'GET', '/api/v1/vendors', { token: tokens.admin })).body.vendors as { disabled: boolean }[])[0]!.disabled);
  t.is((await api(chain, 'PATCH', '/api/v1/vendors/Nobody', { token: tokens.admin, json: { disabled: true } })).status, 404);
});

test('a yank takes the release out of every area before it answers: an old link and an FTP session already logged in find nothing', async (t) => {
  const { chain, tokens, link, path } = await staged(t);
  const ftp = await startFtp(t, chain);
  const client = await login(t, ftp);
  t.is((await download(client, path)).length, 50_000, 'served over FTP before');
  const yank = await api(chain, 'POST', '/api/v1/products/acme-db/releases/1.0.0/yank', { token: tokens.vendor });
  t.is(yank.status, 200);
  t.true([403, 404].includes((await fetch(link)).status), 'gone (404), or refused by the cut-off of the yank (403)');
  await t.throwsAsync(download(client, path), { message: /550/ }, 'the session logged in before the yank cannot fetch it');
  t.deepEqual(await areaFiles(chain, 'globex'), []);
});

test('a EULA put before a product takes it out of the areas of customers who have not accepted it; after acceptance it stages again', async (t) => {
  const { chain, tokens, link, path } = await staged(t);
  const ftp = await startFtp(t, chain);
  const client = await login(t, ftp);
  const eula = await api(chain, 'POST', '/api/v1/eulas', { token: tokens.vendor, json: { title: 'Acme licence', body: 'Be nice.' } });
  const put = await api(chain, 'PUT', '/api/v1/products/acme-db/eula', { token: tokens.vendor, json: { eula: eula.body.id } });
  t.is(put.status, 200);
  t.true([403, 404].includes((await fetch(link)).status), 'an old link finds nothing (or is refused by the cut-off of the EULA)');
  await t.throwsAsync(download(client, path), { message: /550/ });
  // A fresh FTP login does not bring it back either (the login prunes to what may be served).
  const again = await login(t, ftp);
  await t.throwsAsync(download(again, path), { message: /550/ });
  t.is((await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } })).status, 403);
  t.is((await api(chain, 'POST', `/api/v1/eulas/${String(eula.body.id)}/accept`, { token: tokens.customer })).status, 200);
  const restaged = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } });
  t.is(restaged.status, 201);
  t.is((await download(await login(t, ftp), path)).length, 50_000);
});

test('portal sessions end everywhere: a signed-out cookie fails on another web host and after a restart; a password change and a disable end sessions', async (t) => {
  const sessionKeys = [randomBytes(32).toString('base64')];
  const { chain } = await portalSetup(t, { sessionKeys });
  const tokens = await makeTokens(chain);
  // A second web host on the same internal-db and keys (a scaled-out web tier, or this one restarted).
  const other = async () => {
    const web = await WebService.start({
      host: '127.0.0.1',
      commlinkPort: 0,
      internalDb: { mode: 'listen', host: '127.0.0.1', port: chain.service.address!.port, dialListenHost: '127.0.0.1', dialListenPort: 0 },
      commlink: {},
      bags: { fileHosts: chain.fileHostBag, internalDb: chain.bag },
      ticketPrivateKeyPem: ticketKeys().privateKeyPem,
      ticketTtlSeconds: 60,
      http: { port: 0, opsPort: 0, sessionKeys },
      log: silentLogger,
    });
    t.teardown(() => web.close(0));
    t.true(await web.db.waitConnected(5000));
    return web;
  };
  const client = new PortalClient(chain.web.httpUrl);
  await client.signIn('globex', PASSWORD);
  const webB = await other();
  const copy = client.clone();
  const onB = new PortalClient(webB.httpUrl);
  for (const [k, v] of copy.jar) onB.jar.set(k, v);
  t.is((await onB.get('/downloads')).status, 200, 'the same cookie works on another web host');
  const page = await client.get('/downloads');
  t.is((await client.post('/signout', { csrf: csrfOf(page.text) })).status, 303);
  // Signed out on A: refused on B within 1 s (B remembered the session's check until the change feed said otherwise).
  const signedOut = performance.now();
  await waitFor(async () => (await onB.get('/downloads')).status === 303, 5000, 'B to refuse the signed-out session');
  t.true(performance.now() - signedOut < 1000, 'within 1 s');
  const restarted = await other();
  const onC = new PortalClient(restarted.httpUrl);
  for (const [k, v] of copy.jar) onC.jar.set(k, v);
  t.is((await onC.get('/downloads')).status, 303, 'and on a web host started after the sign-out');

  // A password change signs every session out; so does a disable.
  const second = new PortalClient(chain.web.httpUrl);
  await second.signIn('globex', PASSWORD);
  t.is((await second.get('/downloads')).status, 200);
  t.is((await api(chain, 'PATCH', '/api/v1/customers/globex', { token: tokens.admin, json: { password: 'another long password' } })).status, 200);
  t.is((await second.get('/downloads')).status, 303, 'ended by the password change');
  const third = new PortalClient(chain.web.httpUrl);
  t.is((await third.signIn('globex', 'another long password')).status, 303);
  t.is((await third.get('/downloads')).status, 200, 'a session started after the change works');
  t.is((await api(chain, 'PATCH', '/api/v1/customers/globex', { token: tokens.admin, json: { disabled: true } })).status, 200);
  t.is((await third.get('/downloads')).status, 303, 'ended by the disable');
});

test('disabling a customer ends its open FTP and SFTP connections and cuts off its download in progress, audited as aborted', async (t) => {
  const hostKey = generateEd25519().private;
  const passive = 35_000 + Math.floor(Math.random() * 90) * 10;
  const chain = await startChain(t, {
    webHttp: {},
    fileHost: { sftp: { port: 0, hostKey }, ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 9, passiveAddress: '', requireTls: false } },
  });
  const size = 32 * 1024 * 1024;
  await publish(chain, '1.0.0', randomBytes(size));
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const tokens = await makeTokens(chain);
  const staging = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } });
  const link = (staging.body.files as { url: string }[])[0]!.url;
  // An HTTP download started and held (read no further than its first piece).
  const download = await fetch(link);
  const reader = download.body!.getReader();
  t.false((await reader.read()).done);
  // An SFTP session and an FTP session, logged in.
  const sftp = await sftpConnect({ port: chain.fileHost.sftpAddress!.port, username: 'globex', password: PASSWORD });
  t.teardown(sftp.close);
  const sftpClosed = new Promise<void>((resolve) => sftp.client.once('close', () => resolve()));
  const ftp = await Raw.open(t, chain.fileHost.ftpAddress!.port);
  await ftp.reply();
  await ftp.login();

  t.is((await api(chain, 'PATCH', '/api/v1/customers/globex', { token: tokens.admin, json: { disabled: true } })).status, 200);
  await within(sftpClosed, 5000, 'the SFTP connection to be closed');
  t.is((await ftp.reply(5000)).code, 421, 'the FTP control connection is told, then closed');
  await ftp.whenClosed(5000);
  let received = 0;
  const cutOff = await (async () => {
    for (;;) {
      const chunk = await reader.read().catch(() => undefined);
      if (!chunk) return true; // the connection was cut
      if (chunk.done) return received < size;
      received += chunk.value.byteLength;
    }
  })();
  t.true(cutOff, 'the download did not run to its end');
  await waitFor(
    async () =>
      ((await chain.call('audit.query', { customer: 'globex' })).events as { protocol: string; outcome: string }[]).some(
        (e) => e.protocol === 'http' && e.outcome === 'aborted',
      ),
    10_000,
    'the cut-off download in the audit, aborted',
  );
});
