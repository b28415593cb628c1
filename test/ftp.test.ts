import test from 'ava';
import { type FTPError } from 'basic-ftp';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { stat } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { Writable } from 'node:stream';
import { publish, waitFor } from './helpers/chain.js';
import { PASSWORD, HOST, setup, login, download, codeOf, errorOf, curl, auditEvents, Raw, usePortRegion } from './helpers/ftp.js';

usePortRegion(0);

test('login, FEAT, PWD/CWD, LIST, MLSD, NLST, MLST, SIZE and MDTM', async (t) => {
  const { ftp, content, path, diskPath } = await setup(t);
  const client = await login(t, ftp);
  const feat = await client.send('FEAT');
  for (const feature of ['AUTH TLS', 'PBSZ', 'PROT', 'EPSV', 'MDTM', 'REST STREAM', 'SIZE', 'UTF8', 'MLST type'])
    t.true(feat.message.includes(` ${feature}`), feature);
  t.is(await client.pwd(), '/');

  // MLSD (basic-ftp picks it because FEAT announces MLST).
  const root = await client.list('/');
  t.deepEqual(client.availableListCommands, ['MLSD']);
  t.deepEqual(
    root.map((e) => [e.name, e.isDirectory]),
    [['acme-db', true]],
  );
  const files = await client.list('/acme-db/1.0.0');
  t.deepEqual(
    files.map((e) => [e.name, e.isFile, e.size]),
    [['acme-db-1.0.0.tar.gz', true, content.length]],
  );

  // LIST (ls -l lines), also with flags.
  client.availableListCommands = ['LIST -la'];
  const listed = await client.list('/acme-db/1.0.0');
  t.deepEqual(
    listed.map((e) => [e.name, e.size, e.isFile]),
    [['acme-db-1.0.0.tar.gz', content.length, true]],
  );
  client.availableListCommands = ['LIST'];
  await client.cd('/acme-db');
  t.is(await client.pwd(), '/acme-db');
  t.deepEqual(
    (await client.list()).map((e) => [e.name, e.isDirectory]),
    [['1.0.0', true]],
  );
  await client.cd('..');
  t.is(await client.pwd(), '/');
  await client.cd('../../..');
  t.is(await client.pwd(), '/', 'clamped at the root');

  // MLST, and the perm facts once asked for.
  await client.send('OPTS MLST type;size;modify;perm;');
  const mlst = await client.send(`MLST ${path}`);
  t.regex(mlst.message, new RegExp(`type=file;size=${content.length};modify=\\d{14};perm=r; ${path.replace(/\./g, '\\.')}`));
  t.regex((await client.send('MLST /acme-db')).message, /type=dir;modify=\d{14};perm=el; \/acme-db/);

  t.is(await client.size(path), content.length);
  t.is(await codeOf(client.size('/acme-db')), 550, 'SIZE of a directory');
  t.is(await codeOf(client.size('/acme-db/1.0.0/nope.tar.gz')), 550);
  const mtime = (await stat(diskPath)).mtime;
  t.is((await client.lastMod(path)).getTime(), Math.floor(mtime.getTime() / 1000) * 1000);

  // curl: NLST (--list-only), LIST and a raw MLSD.
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}`;
  const nlst = await curl(['--list-only', `${url}/acme-db/1.0.0/`]);
  t.is(nlst.code, 0, nlst.stderr);
  t.regex(nlst.stdout.toString(), /^acme-db-1\.0\.0\.tar\.gz\r?\n$/);
  const ls = await curl([`${url}/acme-db/1.0.0/`]);
  t.regex(ls.stdout.toString(), new RegExp(`^-r--r--r-- +1 ftp +ftp +${content.length} \\w{3} [ \\d]\\d [\\d:]{5} acme-db-1\\.0\\.0\\.tar\\.gz\\r?\\n$`));
  // MLSD starts with the directory itself (cdir) and its parent (pdir), RFC 3659 §7.5.1.
  const mlsd = await curl(['-X', 'MLSD', `${url}/acme-db/1.0.0/`]);
  t.regex(
    mlsd.stdout.toString(),
    new RegExp(
      `^type=cdir;modify=\\d{14};perm=el; \\.\\r?\\n` +
        `type=pdir;modify=\\d{14};perm=el; \\.\\.\\r?\\n` +
        `type=file;size=${content.length};modify=\\d{14};perm=r; acme-db-1\\.0\\.0\\.tar\\.gz\\r?\\n$`,
    ),
  );
  const mlsdRoot = await curl(['-X', 'MLSD', `${url}/`]);
  t.regex(
    mlsdRoot.stdout.toString(),
    /^type=cdir;modify=\d{14};perm=el; \.\r?\ntype=pdir;modify=\d{14};perm=el; \.\.\r?\ntype=dir;modify=\d{14};perm=el; acme-db\r?\n$/,
  );
});

test('a download is byte-identical, and a download resumed with REST completes it byte for byte', async (t) => {
  const { chain, ftp, content, path } = await setup(t, { size: 3 * 1024 * 1024 + 5 });
  const client = await login(t, ftp);
  t.true((await download(client, path)).equals(content));
  const cut = 1_234_567;
  const rest = await download(client, path, cut);
  t.true(Buffer.concat([content.subarray(0, cut), rest]).equals(content));
  t.is((await download(client, path, content.length)).length, 0, 'REST at the end: nothing left to send');
  t.is(await codeOf(download(client, path, content.length + 1)), 554, 'REST past the end');
  t.is((await client.send('REST x').catch((err: FTPError) => err)).code, 501);
  // curl resumes too (REST), and reads the same bytes.
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}${path}`;
  const whole = await curl([url]);
  t.true(whole.stdout.equals(content), whole.stderr);
  const part = await curl(['-C', String(cut), url]);
  t.true(part.stdout.equals(content.subarray(cut)), part.stderr);
  // One audit row per RETR with what was sent.
  const events = await auditEvents(chain, 5);
  t.deepEqual(
    events
      .filter((e) => e.outcome === 'complete')
      .map((e) => e.bytes)
      .sort((a, b) => a - b),
    [0, content.length - cut, content.length - cut, content.length, content.length],
  );
  t.true(
    events.every((e) => e.protocol === 'ftp' && e.path === path && e.clientAddress === HOST),
    JSON.stringify(events[0]),
  );
});

test('an aborted download is audited as aborted with the bytes sent; ABOR answers in order', async (t) => {
  const { chain, ftp, content, path } = await setup(t, { size: 24 * 1024 * 1024 });
  // The client hangs up after the first bytes.
  const client = await login(t, ftp);
  const sink = new Writable({
    write(_chunk, _enc, cb) {
      client.close();
      cb();
    },
  });
  await t.throwsAsync(client.downloadTo(sink, path));
  const events = await auditEvents(chain, 1);
  t.is(events[0]!.outcome, 'aborted');
  t.true(events[0]!.bytes < content.length, String(events[0]!.bytes));
  // ABOR without a transfer; then ABOR during one: 426 for the RETR, then 226 for the ABOR.
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('ABOR')).code, 226);
  const epsv = await raw.send('EPSV');
  const port = Number(/\|\|\|(\d+)\|/.exec(epsv.text)![1]);
  const data = tcpConnect({ host: HOST, port });
  data.on('error', () => {});
  const firstBytes = once(data, 'data');
  t.is((await raw.send(`RETR ${path}`)).code, 150);
  await firstBytes; // the transfer is running: ABOR now finds it
  data.pause(); // a client that reads no more: the transfer stalls until ABOR
  raw.socket.write('ABOR\r\n');
  t.is((await raw.reply()).code, 426);
  t.is((await raw.reply()).code, 226);
  data.destroy();
  await waitFor(async () => (await auditEvents(chain, 1)).length === 2, 10_000, 'the second audit row');
  t.is((await raw.send('NOOP')).code, 200, 'the session goes on');
});

test('a wrong password and an unknown user are refused with 530; the server goes on', async (t) => {
  const { ftp } = await setup(t);
  const wrong = await errorOf(login(t, ftp, { password: 'wrong password' }));
  t.is(wrong.code, 530);
  const unknown = await errorOf(login(t, ftp, { user: 'nobody' }));
  t.is(unknown.code, 530);
  const malformed = await errorOf(login(t, ftp, { user: '../../etc' }));
  t.is(malformed.code, 530);
  const raw = await Raw.open(t, ftp.address.port);
  t.is((await raw.reply()).code, 220);
  t.is((await raw.send('PASS x')).code, 503, 'PASS before USER');
  t.is((await raw.send('LIST')).code, 530, 'commands need a login');
  t.is((await raw.send('RETR /acme-db/1.0.0/acme-db-1.0.0.tar.gz')).code, 530);
  t.is((await raw.send('SYST')).code, 215);
  t.is((await raw.send('TYPE I')).code, 530, 'ftp-srv’s own commands check the login too');
  const client = await login(t, ftp);
  t.is(await client.pwd(), '/');
});

test('a revoked entitlement is gone at the next login', async (t) => {
  const { chain, ftp, content, path, entitlementId } = await setup(t);
  const first = await login(t, ftp);
  t.true((await download(first, path)).equals(content));
  first.close();
  await chain.call('entitlement.revoke', { id: entitlementId });
  const second = await login(t, ftp);
  t.deepEqual(await second.list('/'), []);
  t.is(await codeOf(download(second, path)), 550);
  t.is(await codeOf(second.size(path)), 550);
});

// ---------------------------------------------------------------------------------------------
// Read-only, traversal

test('100 concurrent downloads (20 clients × 5 files) are byte-identical', async (t) => {
  const { chain, ftp } = await setup(t, { size: 1000, ports: 40 });
  const contents: Buffer[] = [];
  const paths: string[] = [];
  for (let i = 1; i <= 5; i++) {
    const version = `2.0.${i}`;
    const content = randomBytes(200_000 + i * 77_777);
    await publish(chain, version, content);
    const staged = await chain.web.fulfillment.stage('globex', 'acme-db', version);
    contents.push(content);
    paths.push(staged.files[0]!.path as string);
  }
  const clients = await Promise.all(Array.from({ length: 20 }, () => login(t, ftp)));
  const results = await Promise.all(
    clients.map(async (client, c) => {
      const ok: boolean[] = [];
      for (let k = 0; k < 5; k++) {
        const i = (c + k) % 5;
        ok.push((await download(client, paths[i]!)).equals(contents[i]!));
      }
      return ok;
    }),
  );
  t.is(results.flat().filter(Boolean).length, 100);
  const events = await auditEvents(chain, 100);
  t.is(events.filter((e) => e.outcome === 'complete').length, 100);
});
