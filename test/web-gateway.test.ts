import test from 'ava';
import * as InternalDb from '../lib/contracts/internal-db/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { WebService } from '../services/web/service.js';
import { startChain, ticketKeys, waitFor } from './helpers/chain.js';
import { makeBag, makeClient } from './helpers/commlink.js';
import { seedCatalogue, startInternalDb } from './helpers/internal-db.js';

test('the file host reaches the internal-db only through the web host, and only for its operations', async (t) => {
  const chain = await startChain(t);
  await seedCatalogue(chain.call);
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db', range: '<2.0.0' });
  const ok = await chain.fileHost.link.ask(InternalDb.authCheck, {
    login: 'globex',
    password: 'correct horse battery',
    protocol: 'sftp',
    clientAddress: '192.0.2.7',
  });
  t.is(ok.customer.login, 'globex');
  t.deepEqual(ok.releases.map((r) => r.version).sort(), ['1.0.0', '1.5.0']);
  const refused = await t.throwsAsync(
    chain.fileHost.link.ask(InternalDb.authCheck, { login: 'globex', password: 'wrong', protocol: 'ftp', clientAddress: '192.0.2.7' }),
  );
  t.is((refused as { code?: string }).code, 'ERR_AUTH_REFUSED', "the internal-db's answer comes through with its own code");
  const resolved = await chain.fileHost.link.ask(InternalDb.releaseResolve, { customer: 'globex' });
  t.is(resolved.artifacts.length, 2);
  // Anything beyond the gateway's list is not forwarded: a file host cannot administer.
  const admin = [InternalDb.customerCreate, InternalDb.entitlementGrant, InternalDb.tokenCreate, InternalDb.adminBackup, InternalDb.dbInfo];
  for (const op of admin) {
    const err = await t.throwsAsync(chain.fileHost.link.ask(op, {} as never));
    t.is((err as { code?: string }).code, 'ERR_GATEWAY_UNAVAILABLE', op.name);
    t.regex(err!.message, /ERR_UNKNOWN_OPERATION/, op.name);
  }
  // Spoken to directly, the gateway says it serves no such operation; and it checks a forwarded
  // request against its contract before it goes any further.
  const raw = makeClient({ bag: chain.fileHostBag, port: chain.web.commlinkAddress.port });
  t.teardown(() => raw.close(0));
  for (const op of admin) t.is(((await t.throwsAsync(raw.request(op.name, {}))) as { code?: string }).code, 'ERR_UNKNOWN_OPERATION', op.name);
  const malformed = await t.throwsAsync(
    raw.request(InternalDb.authCheck.name, { login: 'globex', password: 'x', protocol: 'ftp', clientAddress: '192.0.2.7', sql: 'DROP TABLE customers' }),
  );
  t.is((malformed as { code?: string }).code, 'ERR_INVALID_INPUT');
  t.regex(malformed!.message, /unknown field sql/);
});

test('file hosts follow the change feed through the gateway: what changed, not who changed it from where', async (t) => {
  const chain = await startChain(t);
  await seedCatalogue(chain.call);
  const by = { kind: 'token', id: '7', address: '198.51.100.9' };
  await chain.call('customer.setDisabled', { login: 'globex', disabled: true, by });
  const direct = await chain.call('changes.next', { after: 0, limit: 1000 });
  const disabledDirect = (direct.changes as { kind: string; actor: unknown }[]).find((c) => c.kind === 'customer.disabled');
  t.deepEqual(disabledDirect?.actor, by, 'the internal-db keeps who and from where');
  const relayed = await chain.fileHost.link.ask(InternalDb.changesNext, { after: 0, limit: 1000 });
  t.is(relayed.changes.length, (direct.changes as unknown[]).length, 'every change reaches the file host');
  const disabled = relayed.changes.find((c) => c.kind === 'customer.disabled');
  t.is(disabled?.customer, 'globex');
  t.deepEqual(disabled?.actor, { kind: 'token' }, 'the token id and the client address stay behind the web host');
  t.true(relayed.changes.every((c) => c.actor.id === undefined && c.actor.address === undefined));
});

test('with the internal-db down, file host requests fail at once with a temporary error', async (t) => {
  const chain = await startChain(t);
  await chain.service.close(0);
  await waitFor(() => !chain.web.db.connected, 5000, 'the web host to notice');
  const started = Date.now();
  const err = await t.throwsAsync(
    chain.fileHost.link.ask(InternalDb.authCheck, { login: 'globex', password: 'x', protocol: 'ftp', clientAddress: '192.0.2.7' }),
  );
  t.is((err as { code?: string }).code, 'ERR_GATEWAY_UNAVAILABLE');
  t.true(Date.now() - started < 2000, 'no waiting for a timeout');
  // The file host itself keeps serving: its HTTP port still answers.
  const res = await fetch(`${chain.fileHost.httpUrl}/files/x?ticket=y`);
  t.is(res.status, 403);
});

test('reverse dial: the internal-db dials out to the web host, which forwards over that connection', async (t) => {
  // The web host listens for the internal-db on a port of its choosing; the internal-db is told that port and dials it.
  const bag = makeBag();
  const fileHostBag = makeBag();
  const web = await WebService.start({
    host: '127.0.0.1',
    commlinkPort: 0,
    internalDb: { mode: 'dial', host: '127.0.0.1', port: 1, dialListenHost: '127.0.0.1', dialListenPort: 0 },
    commlink: {},
    bags: { fileHosts: fileHostBag, internalDb: bag },
    ticketPrivateKeyPem: ticketKeys().privateKeyPem,
    ticketTtlSeconds: 60,
    log: silentLogger,
  });
  t.teardown(() => web.close(0));
  const db = await startInternalDb(t, {
    mode: 'dial',
    dialHost: '127.0.0.1',
    dialPort: web.db.dialAddress!.port,
    commlink: { bag, reconnectMinMs: 20, reconnectMaxMs: 100 },
  });
  t.true(await web.db.waitConnected(5000), 'the internal-db dialled in');
  t.is(db.service.address, undefined, 'the internal-db listens on nothing');
  const info = await web.db.ask(InternalDb.dbInfo, {});
  t.is(typeof info.schemaVersion, 'number');
  const fileHostSide = makeClient({ bag: fileHostBag, port: web.commlinkAddress.port });
  t.teardown(() => fileHostSide.close(0));
  const err = await t.throwsAsync(fileHostSide.request('auth.check', { login: 'nobody', password: 'x', protocol: 'ftp', clientAddress: '192.0.2.1' }));
  t.is((err as { code?: string }).code, 'ERR_AUTH_REFUSED');
});

test('a file host name held by a live host elsewhere is refused; the same host reconnecting replaces itself', async (t) => {
  const chain = await startChain(t);
  const register = (client: ReturnType<typeof makeClient>) => client.request('filehost.register', { name: 'file-1', httpUrl: 'http://127.0.0.9:1' });
  // Another address (127.0.0.2) claiming file-1: refused, the real file-1 stays.
  const impostor = makeClient({ bag: chain.fileHostBag, port: chain.web.commlinkAddress.port, localAddress: '127.0.0.2' });
  t.teardown(() => impostor.close(0));
  const refused = await t.throwsAsync(register(impostor));
  t.is((refused as { code?: string }).code, 'ERR_CONFLICT');
  t.is(chain.web.fileHosts.pick('file-1').httpUrl, chain.fileHost.httpUrl);
  // The same address (the host reconnecting): it replaces the old registration.
  const again = makeClient({ bag: chain.fileHostBag, port: chain.web.commlinkAddress.port });
  t.teardown(() => again.close(0));
  await register(again);
  t.is(chain.web.fileHosts.pick('file-1').httpUrl, 'http://127.0.0.9:1');
});
