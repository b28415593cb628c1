import test from 'ava';
import { Client, FTPError } from 'basic-ftp';
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, stat, symlink, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import { waitFor } from './helpers/chain.js';
import { PASSWORD, HOST, startFtp, setup, login, download, codeOf, errorOf, curl, bindAll, Raw, usePortRegion, auditEvents } from './helpers/ftp.js';
import { CLIENT_READ_BUFFER, kernelSocketBuffers, readThen } from './helpers/stalled-reader.js';

usePortRegion(1);

async function snapshot(dir: string): Promise<string[]> {
  const out: string[] = [];
  const walk = async (d: string): Promise<void> => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const p = join(d, entry.name);
      const s = await stat(p).catch(() => undefined);
      out.push(`${p} ${entry.isDirectory() ? 'd' : 'f'} ${s?.size} ${s?.mtimeMs} ${s?.ino} ${s?.mode}`);
      if (entry.isDirectory()) await walk(p);
    }
  };
  await walk(dir);
  return out.sort();
}

test('every write command is refused, changes nothing, and holds no passive port', async (t) => {
  const { chain, ftp, path } = await setup(t);
  const areas = join(chain.fileDir, 'areas');
  const before = await snapshot(areas);
  const client = await login(t, ftp);
  const upload = () => Readable.from([Buffer.from('evil')]);
  t.is(await codeOf(client.uploadFrom(upload(), '/new.txt')), 553, 'STOR');
  t.is(await codeOf(client.uploadFrom(upload(), path)), 553, 'STOR over a file');
  t.is(await codeOf(client.appendFrom(upload(), path)), 553, 'APPE');
  t.is(await codeOf(client.send('STOU')), 553, 'STOU');
  t.is(await codeOf(client.remove(path)), 550, 'DELE');
  t.is(await codeOf(client.send(`RNFR ${path}`)), 550, 'RNFR');
  t.is(await codeOf(client.send('RNTO /x.tar.gz')), 550, 'RNTO');
  t.is(await codeOf(client.rename(path, '/moved.tar.gz')), 550, 'rename');
  t.is(await codeOf(client.send('MKD /newdir')), 550, 'MKD');
  t.is(await codeOf(client.send('XMKD /newdir')), 550, 'XMKD');
  t.is(await codeOf(client.send('RMD /acme-db/1.0.0')), 550, 'RMD');
  t.is(await codeOf(client.send('XRMD /acme-db')), 550, 'XRMD');
  t.is(await codeOf(client.send(`SITE CHMOD 777 ${path}`)), 550, 'SITE CHMOD');
  t.is(await codeOf(client.send('SITE EXEC /bin/sh')), 502, 'another SITE command');
  t.is(await codeOf(client.send('PORT 127,0,0,1,200,10')), 502, 'active mode');
  const eprt = await errorOf(client.send('EPRT |1|127.0.0.1|51234|'));
  t.is(eprt.code, 502);
  t.regex(eprt.message, /active mode.*not supported.*PASV or EPSV/i);
  t.is(await codeOf(client.send('XYZZY')), 502, 'unknown');
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${ftp.address.port}`;
  const curled = await curl(['-T', '-', `${url}/curl-upload.txt`]);
  t.not(curled.code, 0);
  t.regex(curled.stderr, /553|denied|read-only/i);
  t.deepEqual(await snapshot(areas), before, 'nothing changed in any area');
  await waitFor(() => ftp.passivePortsHeld === 0, 5000, 'refused commands to free their passive ports');
  t.pass();
});

test('60 traversal payloads over CWD, RETR, SIZE and LIST never reveal a secret outside the area', async (t) => {
  const { chain, ftp, content } = await setup(t, { size: 5000 });
  const marker = `TOP-SECRET-${randomBytes(8).toString('hex')}`;
  const secret = Buffer.from(`${marker}\n`.repeat(37)); // a size no staged file has
  const areas = join(chain.fileDir, 'areas');
  const outside = join(chain.fileDir, 'secret.txt');
  await writeFile(outside, secret);
  await writeFile(join(areas, 'secret.txt'), secret);
  await mkdir(join(areas, 'initech', 'acme-db', '1.0.0'), { recursive: true });
  await writeFile(join(areas, 'initech', 'acme-db', '1.0.0', 'secret.txt'), secret);
  const client = await login(t, ftp); // the login prunes; links are planted after it
  const area = join(areas, 'globex');
  await symlink(outside, join(area, 'acme-db', '1.0.0', 'leak.tar.gz'));
  await symlink(chain.fileDir, join(area, 'escape'));
  await symlink('..', join(area, 'up'));
  await symlink('/', join(area, 'rootfs'));
  await symlink('acme-db', join(area, 'inside')); // a link that stays inside the area works

  const leaked = (text: string) => text.includes(marker) || text.includes('secret.txt');
  const depth = (n: number) => '../'.repeat(n);
  const payloads = [
    '../secret.txt',
    '../../secret.txt',
    `${depth(8)}secret.txt`,
    '/../secret.txt',
    '/../../secret.txt',
    '..',
    '../..',
    '/..',
    '/../..',
    '../initech/acme-db/1.0.0/secret.txt',
    '/../initech/acme-db/1.0.0/secret.txt',
    'acme-db/../../secret.txt',
    'acme-db/1.0.0/../../../secret.txt',
    outside,
    `/${outside}`,
    `//${outside}`,
    `${depth(12)}${outside.slice(1)}`,
    `/acme-db/1.0.0/${depth(6)}${outside.slice(1)}`,
    '..\\secret.txt',
    '..\\..\\secret.txt',
    '\\..\\secret.txt',
    'acme-db\\..\\..\\secret.txt',
    '..\\/secret.txt',
    '%2e%2e/secret.txt',
    '%2e%2e%2fsecret.txt',
    '%2E%2E/%2E%2E/secret.txt',
    '..%2fsecret.txt',
    '%252e%252e/secret.txt',
    '..%c0%afsecret.txt',
    '%2e%2e%5csecret.txt',
    '..\u0000/secret.txt',
    'secret.txt\u0000.tar.gz',
    '/acme-db/1.0.0/\u0000../../../secret.txt',
    '\u0000',
    '.../secret.txt',
    '..../secret.txt',
    './../secret.txt',
    '.././../secret.txt',
    '/./../secret.txt',
    '..;/secret.txt',
    '../ secret.txt',
    '\u2024\u2024/secret.txt',
    '\uff0e\uff0e/secret.txt',
    '..\u2215secret.txt',
    'a'.repeat(256),
    `${'a'.repeat(255)}/../../secret.txt`,
    `${depth(1300)}secret.txt`,
    `/${'x/'.repeat(600)}${depth(700)}secret.txt`,
    `/${'a/'.repeat(2049)}`,
    'acme-db/1.0.0/leak.tar.gz',
    '/acme-db/1.0.0/leak.tar.gz',
    'escape/secret.txt',
    '/escape/secret.txt',
    'escape',
    'escape/areas/secret.txt',
    'up/secret.txt',
    'up/../secret.txt',
    'up/up/up/secret.txt',
    'rootfs' + outside,
    '/rootfs/etc/passwd',
    'rootfs',
    '~/../secret.txt',
    '~root',
    '*',
    '../*',
    'acme-db/1.0.0/*',
  ];
  t.true(payloads.length >= 60, String(payloads.length));

  // Control characters (NUL …): a client library will not send them; a bare connection does.
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  const withControls = payloads.filter((p) => /[\u0000-\u001f]/.test(p));
  t.true(withControls.length >= 4);
  for (const payload of withControls) {
    for (const command of ['SIZE', 'CWD', 'MDTM', 'MLST', 'RETR']) {
      const res = await raw.send(`${command} ${payload}`);
      t.is(res.code, 550, `${command} ${JSON.stringify(payload)}: ${res.text}`);
      t.false(leaked(res.text), res.text);
    }
    t.is((await raw.send('EPSV')).code, 229);
    const res = await raw.send(`LIST ${payload}`);
    t.is(res.code, 550);
  }
  t.is((await raw.send('PWD')).text, '257 "/" is the current directory');

  let fresh = client;
  const ensure = async () => {
    if (fresh.closed) fresh = await login(t, ftp);
    return fresh;
  };
  let operations = 0;
  for (const payload of payloads.filter((p) => !withControls.includes(p))) {
    const name = JSON.stringify(payload.slice(0, 60));
    // RETR
    const c1 = await ensure();
    try {
      const got = await download(c1, payload);
      t.false(got.includes(marker), `RETR ${name}`);
      t.true(got.length === 0 || got.equals(content), `RETR ${name} sent only a staged file`);
    } catch (err) {
      t.true(err instanceof FTPError && err.code >= 500, `RETR ${name}: ${(err as Error).message}`);
    }
    // SIZE
    const c2 = await ensure();
    try {
      t.not(await c2.size(payload), secret.length, `SIZE ${name}`);
    } catch (err) {
      t.true(err instanceof FTPError && err.code >= 500, `SIZE ${name}`);
    }
    // LIST (and MLSD)
    for (const command of [['LIST'], ['MLSD']]) {
      const c3 = await ensure();
      c3.availableListCommands = command;
      try {
        const entries = await c3.list(payload);
        t.false(
          entries.some((e) => leaked(e.name)),
          `${command[0]} ${name}: ${entries.map((e) => e.name).join(',')}`,
        );
      } catch (err) {
        t.true(err instanceof FTPError && err.code >= 500, `${command[0]} ${name}: ${(err as Error).message}`);
      }
    }
    // CWD, then what is listed there
    const c4 = await ensure();
    try {
      await c4.cd(payload);
      c4.availableListCommands = ['MLSD'];
      const entries = await c4.list();
      t.false(
        entries.some((e) => leaked(e.name)),
        `CWD ${name}`,
      );
      t.false(leaked(await c4.pwd()), `PWD after CWD ${name}`);
    } catch (err) {
      t.true(err instanceof FTPError && err.code >= 500, `CWD ${name}: ${(err as Error).message}`);
    }
    await c4.cd('/').catch(() => {});
    operations += 5;
  }
  t.true(operations >= 250, String(operations));
  // The planted links are not even listed.
  fresh.availableListCommands = ['MLSD'];
  t.deepEqual((await fresh.list('/')).map((e) => e.name).sort(), ['acme-db', 'inside']);
  t.true((await download(fresh, '/inside/1.0.0/acme-db-1.0.0.tar.gz')).equals(content));
  t.deepEqual(
    (await fresh.list('/acme-db/1.0.0')).map((e) => e.name),
    ['acme-db-1.0.0.tar.gz'],
  );
  t.true((await readFile(outside)).equals(secret), 'the secret is untouched');
});

// ---------------------------------------------------------------------------------------------
// Passive ports, limits, bans, timeouts

test('passive ports are all free again after 200 sessions with a passive transfer each', async (t) => {
  const ports = 10;
  const { ftp, content, path, range } = await setup(t, { size: 20_000, ports });
  const { passivePortMin: min, passivePortMax: max } = range;
  let done = 0;
  const worker = async (n: number) => {
    for (let i = n; i < 200; i += 8) {
      const client = new Client(15_000);
      try {
        await client.access({ host: HOST, port: ftp.address.port, user: 'globex', password: PASSWORD });
        if (i % 2 === 0) t.true((await download(client, path)).equals(content));
        else t.is((await client.list('/acme-db/1.0.0')).length, 1);
        done++;
      } finally {
        client.close();
      }
    }
  };
  await Promise.all(Array.from({ length: 8 }, (_, n) => worker(n)));
  t.is(done, 200);
  await waitFor(() => ftp.sessions === 0 && ftp.passivePortsHeld === 0, 10_000, 'sessions to end');
  t.deepEqual(await bindAll(min, max), [], 'every port of the range can be bound again');
  // A PASV that is never used, and a PASV replaced by another, give their ports back too.
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('PASV')).code, 227);
  t.is((await raw.send('EPSV')).code, 229);
  t.is(ftp.passivePortsHeld, 1, 'the second replaced the first');
  raw.socket.destroy();
  await waitFor(() => ftp.passivePortsHeld === 0 && ftp.sessions === 0, 5000, 'the port of a session that left');
  t.deepEqual(await bindAll(min, max), []);
  const fresh = await login(t, ftp);
  t.true((await download(fresh, path)).equals(content), 'a fresh session gets a port');
});

test('repeated failed logins get the address banned: 421 with a message, even for the right password', async (t) => {
  const { ftp } = await setup(t, { chain: { fileHost: { sessions: { defenderThreshold: 3 } } } });
  for (let i = 0; i < 3; i++) t.is((await errorOf(login(t, ftp, { password: `guess ${i}` }))).code, 530);
  const banned = await errorOf(login(t, ftp));
  t.is(banned.code, 421);
  t.regex(banned.message, /banned/i);
  const raw = await Raw.open(t, ftp.address.port);
  const greeting = await raw.reply();
  t.is(greeting.code, 421, 'refused before the greeting');
  await raw.whenClosed();
});

test('per-address connection limit and per-customer session limit answer 421', async (t) => {
  const { ftp } = await setup(t, { chain: { fileHost: { sessions: { maxSessionsPerAddress: 3, maxSessionsPerCustomer: 1 } } } });
  const first = await login(t, ftp);
  const second = await errorOf(login(t, ftp));
  t.is(second.code, 421);
  t.regex(second.message, /too many sessions/i);
  await waitFor(() => ftp.sessions === 1, 5000, 'the refused session to end');
  const a = await Raw.open(t, ftp.address.port);
  const b = await Raw.open(t, ftp.address.port);
  t.is((await a.reply()).code, 220);
  t.is((await b.reply()).code, 220);
  const c = await Raw.open(t, ftp.address.port);
  const refused = await c.reply();
  t.is(refused.code, 421);
  t.regex(refused.text, /connections/);
  await c.whenClosed();
  a.socket.destroy();
  await waitFor(() => ftp.sessions === 2, 5000, 'a slot to free');
  const d = await Raw.open(t, ftp.address.port);
  t.is((await d.reply()).code, 220);
  t.is(await first.pwd(), '/');
});

test('connections not yet logged in are capped (from every address together): 421 past the cap; a login frees its place', async (t) => {
  const { ftp } = await setup(t, { chain: { fileHost: { sessions: { maxUnauthenticatedConnections: 2 } } } });
  const a = await Raw.open(t, ftp.address.port);
  const b = await Raw.open(t, ftp.address.port);
  t.is((await a.reply()).code, 220);
  t.is((await b.reply()).code, 220);
  const c = await Raw.open(t, ftp.address.port);
  const refused = await c.reply();
  t.is(refused.code, 421);
  t.regex(refused.text, /waiting to log in/);
  await c.whenClosed();
  await a.login();
  const d = await Raw.open(t, ftp.address.port);
  t.is((await d.reply()).code, 220, 'the logged-in connection no longer counts');
  t.is((await a.send('NOOP')).code, 200);
});

test('login timeout and idle timeout close the connection with 421', async (t) => {
  // Long enough that a loaded machine answers USER before it; the client then stays silent.
  const { chain, ftp } = await setup(t, { ftp: { loginTimeoutMs: 1500 } });
  const lazy = await Raw.open(t, ftp.address.port);
  t.is((await lazy.reply()).code, 220);
  t.is((await lazy.send('USER globex')).code, 331);
  const timedOut = await lazy.reply(6000);
  t.is(timedOut.code, 421);
  t.regex(timedOut.text, /login timeout/i);
  await lazy.whenClosed();
  const idleMs = 1000;
  const idleFtp = await startFtp(t, chain, { idleTimeoutMs: idleMs });
  const idle = await Raw.open(t, idleFtp.address.port);
  await idle.reply();
  await idle.login();
  // Time passing idle is what is tested here: a fixed wait, well short of the idle timeout.
  await delay(idleMs * 0.4);
  const noopSent = performance.now();
  t.is((await idle.send('NOOP')).code, 200, 'still open part-way through the idle time');
  const closed = await idle.reply(idleMs * 5);
  const closedAfter = performance.now() - noopSent;
  t.is(closed.code, 421);
  t.regex(closed.text, /idle/i);
  // Not reset, the timer would have fired 0.6 idle times after the NOOP.
  t.true(closedAfter >= idleMs * 0.8, `a command resets the idle timer (closed ${Math.round(closedAfter)} ms after the NOOP)`);
  await idle.whenClosed();
  await waitFor(() => ftp.sessions === 0 && idleFtp.sessions === 0, 5000, 'sessions to end');
  t.pass();
});

// ---------------------------------------------------------------------------------------------
// FTPS

/**
 * A client reads 1 MiB of a RETR of a file larger than every buffer between it and the server,
 * then stops reading (`stall`) or hangs up (`close`). The server ends a stalled data connection
 * after transferIdleMs (1 s here) with 426, and either way audits the transfer as aborted with the
 * bytes its socket took: at least what the client read, at most that plus what the kernel's socket
 * buffers hold (tcp_wmem's and tcp_rmem's maximum) and the client's own read buffer.
 */
const stoppedReader = test.macro(async (t, action: 'stall' | 'close') => {
  const buffers = await kernelSocketBuffers();
  const { chain, ftp, path } = await setup(t, { size: 1024 * 1024 + buffers + 8 * 1024 * 1024, ftp: { transferIdleMs: 1000 } });
  const raw = await Raw.open(t, ftp.address.port);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('TYPE I')).code, 200);
  const epsv = await raw.send('EPSV');
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv.text)![1]);
  const data = connect({ host: HOST, port });
  t.teardown(() => data.destroy());
  await new Promise((resolve) => data.once('connect', resolve));
  t.is((await raw.send(`RETR ${path}`)).code, 150);
  const read = await readThen(data, 1024 * 1024, action);
  t.is((await raw.reply(30_000)).code, 426, 'the transfer ended: 426');
  const [event] = await auditEvents(chain, 1);
  t.log(`the client read ${read} bytes; audited: ${event!.bytes}; kernel socket buffers up to ${buffers}`);
  t.is(event!.outcome, 'aborted');
  t.true(event!.bytes >= read, `audited ${event!.bytes} bytes, the client read ${read}`);
  t.true(event!.bytes <= read + buffers + CLIENT_READ_BUFFER, `audited ${event!.bytes} bytes, the client read ${read}, the kernel may hold ${buffers}`);
  t.is((await raw.send('NOOP')).code, 200, 'the session goes on');
});

test(
  'a client that stops reading its data connection is cut off after transferIdleMs (426); the RETR is audited as aborted with the bytes its socket took',
  stoppedReader,
  'stall',
);
test('a client that reads 1 MiB of a RETR and hangs up: audited as aborted with the bytes its socket took', stoppedReader, 'close');
