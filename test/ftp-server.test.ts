import test from 'ava';
import { Client } from 'basic-ftp';
import { connect as tcpConnect } from 'node:net';
import { silentLogger } from '../lib/log/logger.js';
import { FtpServer, type FtpServerOptions } from '../services/ftp/ftp/server.js';
import { InternalDbService } from '../services/internal-db/service.js';
import { startChain, waitFor, type Chain } from './helpers/chain.js';
import { PASSWORD, HOST, passiveRange, startFtp, setup, login, download, codeOf, errorOf, curl, Raw, usePortRegion } from './helpers/ftp.js';
import { internalDbOptions } from './helpers/internal-db.js';

usePortRegion(2);

test('explicit FTPS: login, listing and download over TLS; requireTls refuses a plain login', async (t) => {
  const { ftp, content, path } = await setup(t, { size: 2 * 1024 * 1024 + 11, ftp: { requireTls: true } });
  const secure = await login(t, ftp, { secure: true });
  t.true((await download(secure, path)).equals(content));
  t.true((await download(secure, path, 99_999)).equals(content.subarray(99_999)));
  t.deepEqual(
    (await secure.list('/acme-db/1.0.0')).map((e) => e.name),
    ['acme-db-1.0.0.tar.gz'],
  );
  t.is(await codeOf(secure.send('PROT C')), 534, 'clear data connections are refused');
  t.is(await codeOf(secure.send('AUTH TLS')), 503);

  const plain = await errorOf(login(t, ftp));
  t.is(plain.code, 530);
  t.regex(plain.message, /TLS required/);

  // TLS on the control connection but no PROT P: data connections are refused (521).
  const noProt = new Client(10_000);
  t.teardown(() => noProt.close());
  await noProt.connect(HOST, ftp.address.port);
  await noProt.useTLS({ rejectUnauthorized: false });
  await noProt.login('globex', PASSWORD);
  t.is(await codeOf(noProt.send('EPSV')), 521);

  // curl with --ssl-reqd.
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}${path}`;
  const curled = await curl(['--ssl-reqd', '-k', url]);
  t.true(curled.stdout.equals(content), curled.stderr);
  const plainCurl = await curl([url]);
  t.not(plainCurl.code, 0);
});

test('FTPS is optional without requireTls, and absent without a certificate', async (t) => {
  const { chain, ftp, content, path } = await setup(t);
  const secure = await login(t, ftp, { secure: true });
  t.true((await download(secure, path)).equals(content));
  const plain = await login(t, ftp);
  t.true((await download(plain, path)).equals(content));
  const noTls = await startFtp(t, chain, { tls: undefined });
  const client = await login(t, noTls);
  t.false((await client.send('FEAT')).message.includes('AUTH TLS'));
  t.is(await codeOf(client.send('AUTH TLS')), 502);
  t.throws(() => new FtpServer({ ...baseOptions(chain), requireTls: true, tls: undefined }), { message: /requireTls/ });
});

function baseOptions(chain: Chain): FtpServerOptions {
  return {
    host: HOST,
    port: 0,
    passivePortMin: 30000,
    passivePortMax: 30001,
    passiveAddress: '',
    requireTls: false,
    loginTimeoutMs: 1000,
    idleTimeoutMs: 1000,
    logins: chain.fileHost.logins,
    outcomes: chain.fileHost.audit,
    log: silentLogger,
  };
}

test('ftp-srv does not take over SIGTERM/SIGINT (it would exit without flushing the audit)', async (t) => {
  const chain = await startChain(t);
  const before = ['SIGTERM', 'SIGINT', 'SIGQUIT'].map((s) => process.listenerCount(s));
  const server = new FtpServer({ ...baseOptions(chain), ...passiveRange(2) });
  await server.start();
  t.deepEqual(
    ['SIGTERM', 'SIGINT', 'SIGQUIT'].map((s) => process.listenerCount(s)),
    before,
  );
  await server.close(0);
});

test('options are checked field by field', async (t) => {
  const chain = await startChain(t);
  const base = baseOptions(chain);
  t.throws(() => new FtpServer({ ...base, passivePortMax: 29999 }), { message: /options\.passivePortMax must be >= options\.passivePortMin/ });
  t.throws(() => new FtpServer({ ...base, port: 70000 }), { message: /options\.port/ });
  t.throws(() => new FtpServer({ ...base, passiveAddress: 'example.com' }), { message: /options\.passiveAddress/ });
  t.throws(() => new FtpServer({ ...base, loginTimeoutMs: 0 }), { message: /options\.loginTimeoutMs/ });
  t.throws(() => new FtpServer({ ...base, tls: { cert: 'not a certificate', key: 'nor a key' } }), { message: /options\.tls is not a usable PEM/ });
});

// ---------------------------------------------------------------------------------------------
// Robustness

test('nothing a client sends crashes the server', async (t) => {
  const { ftp, content, path } = await setup(t);
  const raw = await Raw.open(t, ftp.address.port);
  t.is((await raw.reply()).code, 220);
  await raw.login();
  for (const line of [
    '',
    'LIST -la /acme-db/../..',
    'RETR',
    'SIZE',
    'CWD',
    'MDTM',
    'REST -1',
    'REST 99999999999999999999',
    'TYPE Q',
    'MODE Z',
    'OPTS',
    'OPTS FOO',
    'PROT P',
    'PBSZ 0',
    'EPSV 3',
    'HELP',
    'STAT',
    'STAT /',
    'SITE',
    'MLST /nope',
    'USER other',
    'ALLO 10',
  ]) {
    raw.socket.write(`${line}\r\n`);
    if (line === '') continue;
    const res = await raw.reply();
    t.true(res.code >= 200 && res.code < 600, `${line}: ${res.text}`);
  }
  // Transfers without a passive port first.
  t.is((await raw.send(`RETR ${path}`)).code, 425);
  t.is((await raw.send('MLSD /')).code, 425);
  // A command cut across TCP chunks still arrives whole.
  raw.socket.write('NO');
  // A pause so the halves are likely to arrive in two reads; the reply below does not depend on its length.
  await new Promise((r) => setTimeout(r, 50));
  raw.socket.write('OP\r\n');
  t.is((await raw.reply()).code, 200);
  // Pipelined commands are answered in order.
  raw.socket.write('NOOP\r\nPWD\r\nSYST\r\n');
  t.deepEqual([(await raw.reply()).code, (await raw.reply()).code, (await raw.reply()).code], [200, 257, 215]);
  // Binary junk, a reply-injection attempt, then a line far too long: 500 and the connection closes.
  t.is((await raw.send(Buffer.from([0x00, 0xff, 0xf4, 0x80, 0x0d, 0x0a]))).code, 502);
  const injected = await raw.send('CWD /x\u0007\r\n230 fake');
  t.is(injected.code, 550);
  t.is((await raw.reply()).code, 502, 'the injected line is a command of its own, and unknown');
  raw.socket.write(`RETR ${'a'.repeat(10_000)}\r\n`);
  t.is((await raw.reply()).code, 500);
  await raw.whenClosed();

  // Garbage instead of a TLS handshake after AUTH TLS.
  const tls = await Raw.open(t, ftp.address.port);
  await tls.reply();
  t.is((await tls.send('AUTH TLS')).code, 234);
  tls.socket.write('this is not a ClientHello\r\n\r\n');
  await tls.whenClosed();
  // Plaintext commands sent along with AUTH TLS are dropped, not run.
  const injection = await Raw.open(t, ftp.address.port);
  await injection.reply();
  injection.socket.write('AUTH TLS\r\nUSER globex\r\n');
  t.is((await injection.reply()).code, 234);
  injection.socket.destroy();

  // A client that connects and vanishes, and one that resets mid-transfer.
  (await Raw.open(t, ftp.address.port)).socket.destroy();
  const reset = await Raw.open(t, ftp.address.port);
  await reset.reply();
  await reset.login();
  const epsv = await reset.send('EPSV');
  const port = Number(/\|\|\|(\d+)\|/.exec(epsv.text)![1]);
  const data = tcpConnect({ host: HOST, port });
  data.on('error', () => {});
  await new Promise((r) => data.once('connect', r));
  reset.socket.write(`RETR ${path}\r\n`);
  await reset.reply();
  data.resetAndDestroy();
  reset.socket.resetAndDestroy();

  await waitFor(() => ftp.sessions === 0 && ftp.passivePortsHeld === 0, 10_000, 'every session to end');
  const client = await login(t, ftp);
  t.true((await download(client, path)).equals(content), 'still serving');
});

test('with the gateway down a login gets 421 and the server keeps running; once it is back, logins work', async (t) => {
  const { chain, ftp, content, path } = await setup(t);
  const port = chain.service.address!.port;
  await chain.service.close(0);
  await waitFor(() => !chain.web.db.connected, 5000, 'the web host to notice');
  const down = await errorOf(login(t, ftp));
  t.is(down.code, 421);
  t.regex(down.message, /service not available, try again later/i);
  const raw = await Raw.open(t, ftp.address.port);
  t.is((await raw.reply()).code, 220, 'still greeting');
  // The internal-db comes back on its port, with its database.
  const back = await InternalDbService.start({ ...internalDbOptions(chain.dir, chain.bag), listenPort: port });
  t.teardown(() => back.close(0));
  await waitFor(() => chain.web.db.connected, 10_000, 'the web host to reconnect');
  const client = await login(t, ftp);
  t.true((await download(client, path)).equals(content));
});

test('close() ends sessions with 421, frees the passive ports, and is idempotent', async (t) => {
  const { ftp } = await setup(t);
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('EPSV')).code, 229);
  t.is(ftp.passivePortsHeld, 1);
  const closing = ftp.close(100);
  t.is(ftp.close(), closing);
  const bye = await raw.reply();
  t.is(bye.code, 421);
  await closing;
  await raw.whenClosed();
  t.is(ftp.passivePortsHeld, 0);
  t.is(ftp.sessions, 0);
  await t.throwsAsync(Raw.open(t, ftp.address.port));
});
