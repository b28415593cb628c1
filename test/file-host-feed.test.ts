import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { connect as tcpConnect } from 'node:net';
import { join } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { silentLogger } from '../lib/log/logger.js';
import { FileHostService } from '../services/ftp/service.js';
import { WebService } from '../services/web/service.js';
import { chainFileHostOptions, ticketKeys } from './helpers/chain.js';
import { PASSWORD, Raw } from './helpers/ftp.js';
import { feedChain, head, msUntil, publishRelease } from './helpers/feed.js';
import { opensshClient, sftpConnect } from './helpers/sftp.js';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { waitFor, within } from './helpers/wait.js';

/**
 * The file host follows the change feed (issue 16): each change is made straight in the internal-db
 * (its operations, as the admin CLI does), never through the web host's API (which orders file
 * hosts itself), and the time until the file host acts is measured: under a second. The tests run
 * one at a time: their times are not those of a loaded test process.
 */

const SECOND = 1000;

function openFile(sftp: SFTPWrapper, path: string): Promise<Buffer> {
  return new Promise((resolve, reject) => sftp.open(path, 'r', (err, handle) => (err ? reject(err) : resolve(handle))));
}

/** One READ: the bytes, or the error (its code and message). */
function readAt(sftp: SFTPWrapper, handle: Buffer, position: number, length = 32 * 1024): Promise<Buffer | Error> {
  return new Promise((resolve) => sftp.read(handle, Buffer.alloc(length), 0, length, position, (err, n, buffer) => resolve(err ? err : buffer.subarray(0, n))));
}

function sftpLogin(port: number, password = PASSWORD) {
  return sftpConnect({ port, username: 'globex', password });
}

test.serial(
  'a disabled customer: its live FTP session gets 421, its SFTP session is disconnected, its new logins are refused (even remembered), within a second',
  async (t) => {
    const chain = await feedChain(t);
    await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
    await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    const sftp = await sftpLogin(chain.fileHost.sftpAddress!.port);
    t.teardown(sftp.close);
    let sftpClosedAt = 0;
    const sftpClosed = new Promise<void>((resolve) =>
      sftp.client.once('close', () => {
        sftpClosedAt = performance.now();
        resolve();
      }),
    );
    const ftp = await Raw.open(t, chain.fileHost.ftpAddress!.port);
    await ftp.reply();
    await ftp.login();
    t.truthy(await chain.fileHost.stager.list('globex').then((files) => files.length), 'the login staged the release');

    const disabled = performance.now();
    await chain.call('customer.setDisabled', { login: 'globex', disabled: true });
    const reply = await ftp.reply(5000);
    const ftpMs = performance.now() - disabled;
    t.is(reply.code, 421);
    t.regex(reply.text, /access has ended/i);
    await within(sftpClosed, 5000, 'the SFTP connection to be closed');
    const sftpMs = sftpClosedAt - disabled;
    t.true(ftpMs < SECOND, `FTP 421 after ${Math.round(ftpMs)} ms`);
    t.true(sftpMs < SECOND, `SFTP disconnected after ${Math.round(sftpMs)} ms`);
    // The remembered login is forgotten: a new one is checked, and refused.
    await t.throwsAsync(sftpLogin(chain.fileHost.sftpAddress!.port));
    const again = await Raw.open(t, chain.fileHost.ftpAddress!.port);
    await again.reply();
    await again.send('USER globex');
    t.is((await again.send(`PASS ${PASSWORD}`)).code, 530);
    await waitFor(async () => (await chain.fileHost.stager.list('globex')).length === 0, SECOND, 'its area to be emptied');
    t.log(`FTP 421 after ${Math.round(ftpMs)} ms, SFTP closed after ${Math.round(sftpMs)} ms`);
  },
);

test.serial('a password change forgets remembered logins (the old password is refused at once) but leaves live sessions open', async (t) => {
  const chain = await feedChain(t);
  await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const port = chain.fileHost.sftpAddress!.port;
  const live = await sftpLogin(port);
  t.teardown(live.close);
  const second = await sftpLogin(port); // remembered now
  second.close();
  const seq = head(chain);
  await chain.call('customer.setPassword', { login: 'globex', password: 'a brand new long password' });
  t.true(await chain.fileHost.changeFeed.applied(seq + 1, 5000));
  await t.throwsAsync(sftpLogin(port), undefined, 'the old password is checked again, and refused');
  const fresh = await sftpLogin(port, 'a brand new long password');
  fresh.close();
  const names = await new Promise<string[]>((resolve, reject) =>
    live.sftp.readdir('/', (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))),
  );
  t.deepEqual(names, ['acme-db'], 'the live session goes on');
});

test.serial(
  'a revoked entitlement: the in-flight SFTP download is cut off (READ fails: release withdrawn) and the HTTP one ends, within a second',
  async (t) => {
    const chain = await feedChain(t);
    const size = 16 * 1024 * 1024;
    await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(size));
    await publishRelease(chain, 'acme-tools', '1.0.0', randomBytes(size));
    await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    const tools = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-tools' });
    const { sftp, close } = await sftpLogin(chain.fileHost.sftpAddress!.port);
    t.teardown(close);
    const lost = await openFile(sftp, '/acme-tools/1.0.0/acme-tools-1.0.0.bin');
    const kept = await openFile(sftp, '/acme-db/1.0.0/acme-db-1.0.0.bin');
    t.true((await readAt(sftp, lost, 0)) instanceof Buffer);
    // An HTTP download of the release about to be lost, started and held.
    const url = await chain.web.fulfillment.downloadUrl('globex', '/acme-tools/1.0.0/acme-tools-1.0.0.bin');
    const response = await fetch(url);
    t.is(response.status, 200);
    const reader = response.body!.getReader();
    t.false((await reader.read()).done);

    const revoked = performance.now();
    await chain.call('entitlement.revoke', { id: tools.id });
    let position = 32 * 1024;
    let failure: Error | undefined;
    const sftpMs = await msUntil(async () => {
      const got = await readAt(sftp, lost, position);
      if (got instanceof Error) failure = got;
      else position += got.length;
      return failure !== undefined;
    });
    t.true(sftpMs < SECOND, `the SFTP READ failed after ${Math.round(sftpMs)} ms`);
    t.regex(failure!.message, /release withdrawn/);
    t.true(position < size, 'the download did not reach its end');
    t.true((await readAt(sftp, kept, 0)) instanceof Buffer, 'a file of a release still entitled reads on');
    let received = 0;
    const cut = await (async () => {
      for (;;) {
        const chunk = await reader.read().catch(() => undefined);
        if (!chunk) return true;
        if (chunk.done) return received < size;
        received += chunk.value.byteLength;
      }
    })();
    const httpMs = performance.now() - revoked;
    t.true(cut, 'the HTTP download did not run to its end');
    t.true(httpMs < SECOND + 500, `the HTTP download ended ${Math.round(httpMs)} ms after the revocation`);
    await waitFor(
      async () =>
        ((await chain.call('audit.query', { customer: 'globex' })).events as { protocol: string; outcome: string }[]).filter((e) => e.outcome === 'aborted')
          .length >= 1,
      10_000,
      'the cut-off downloads in the audit',
    );
    t.log(`SFTP READ refused after ${Math.round(sftpMs)} ms`);
  },
);

test.serial(
  'tickets issued before a revocation or a yank are refused (403 ERR_TICKET_SUPERSEDED, even remembered); tickets issued after are served',
  async (t) => {
    const chain = await feedChain(t);
    await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
    await publishRelease(chain, 'acme-db', '2.0.0', randomBytes(5000));
    // Two grants of the product: revoking one leaves the customer entitled, its area unchanged.
    const first = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    await chain.fileHost.areaSync.sync('globex');
    const one = '/acme-db/1.0.0/acme-db-1.0.0.bin';
    const two = '/acme-db/2.0.0/acme-db-2.0.0.bin';
    const before = await chain.web.fulfillment.downloadUrl('globex', two);
    t.is((await fetch(before)).status, 200, 'served (and remembered by the verifier)');

    const revoked = performance.now();
    await chain.call('entitlement.revoke', { id: first.id });
    const refusedMs = await msUntil(async () => (await fetch(before)).status === 403);
    t.true(refusedMs < SECOND, `refused ${Math.round(refusedMs)} ms after the revocation`);
    const refused = await fetch(before);
    t.is(refused.status, 403);
    t.is(refused.headers.get('x-error-code'), 'ERR_TICKET_SUPERSEDED');
    t.regex(await refused.text(), /ask for a new link/);
    t.is((await fetch(await chain.web.fulfillment.downloadUrl('globex', two))).status, 200, 'a ticket issued after is served');
    t.log(`ticket refused ${Math.round(performance.now() - revoked)} ms after the revocation`);

    // A yank: tickets of that release issued before are refused; of another release, served.
    const yanked = await chain.web.fulfillment.downloadUrl('globex', one);
    const other = await chain.web.fulfillment.downloadUrl('globex', two);
    t.is((await fetch(yanked)).status, 200);
    const seq = head(chain);
    await chain.call('release.yank', { product: 'acme-db', version: '1.0.0' });
    t.true(await chain.fileHost.changeFeed.applied(seq + 1, 5000));
    const gone = await fetch(yanked);
    t.is(gone.status, 403);
    t.is(gone.headers.get('x-error-code'), 'ERR_TICKET_SUPERSEDED');
    t.is((await fetch(other)).status, 200, 'a ticket of another release is not touched by the yank');
    t.deepEqual(
      (await chain.fileHost.stager.list('globex')).map((f) => f.path),
      [two],
      'the yanked release left the area',
    );
  },
);

test.serial(
  'restart: a change made while the file host was down is applied when it comes back (resumed by sequence); its cut-off survives another restart',
  async (t) => {
    const chain = await feedChain(t);
    await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
    await publishRelease(chain, 'acme-db', '2.0.0', randomBytes(5000));
    await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    await chain.fileHost.areaSync.sync('globex');
    const one = '/acme-db/1.0.0/acme-db-1.0.0.bin';
    const ticket = await chain.web.fulfillment.downloadUrl('globex', one);
    t.is((await fetch(ticket)).status, 200);
    await waitFor(() => chain.fileHost.changeFeed.seq === head(chain), 5000, 'the file host to catch up');
    const stateFile = join(chain.stateDir, 'file-1.json');
    await waitFor(async () => (await stat(stateFile).catch(() => undefined)) !== undefined, 5000, 'the state file');
    t.is((await stat(stateFile)).mode & 0o777, 0o600);

    await chain.fileHost.close(0);
    await chain.call('release.yank', { product: 'acme-db', version: '1.0.0' });
    const options = {
      ...chainFileHostOptions({ fileDir: chain.fileDir, fileHostBag: chain.fileHostBag, web: chain.web, log: silentLogger }),
      feedStateDir: chain.stateDir,
    };
    const again = await FileHostService.start(options);
    t.teardown(() => again.close(0));
    t.true(await again.changeFeed.applied(head(chain), 5000), 'the change made while it was down is applied');
    const url = ticket.replace(chain.fileHost.httpUrl, again.httpUrl);
    const refused = await fetch(url);
    t.is(refused.status, 403);
    t.is(refused.headers.get('x-error-code'), 'ERR_TICKET_SUPERSEDED');
    t.deepEqual(
      (await again.stager.list('globex')).map((f) => f.path),
      ['/acme-db/2.0.0/acme-db-2.0.0.bin'],
      'the yanked release left the area',
    );
    // Once more: the cut-off comes from the state file (no change is pending now).
    await again.close(0);
    const third = await FileHostService.start(options);
    t.teardown(() => third.close(0));
    t.is((await fetch(ticket.replace(chain.fileHost.httpUrl, third.httpUrl))).status, 403, 'still refused after another restart');
  },
);

test.serial('a revoked entitlement aborts an FTP download of the release in progress: 426 with the reason, the session goes on', async (t) => {
  const chain = await feedChain(t);
  await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(1000));
  await publishRelease(chain, 'acme-tools', '1.0.0', randomBytes(32 * 1024 * 1024));
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const tools = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-tools' });
  const ftp = await Raw.open(t, chain.fileHost.ftpAddress!.port);
  await ftp.reply();
  await ftp.login();
  const epsv = await ftp.send('EPSV');
  const port = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv.text)![1]);
  const data = tcpConnect({ host: '127.0.0.1', port });
  t.teardown(() => data.destroy());
  await new Promise<void>((resolve) => data.once('connect', resolve));
  data.once('data', () => data.pause()); // takes a little, then nothing: the transfer stays in progress
  t.is((await ftp.send('RETR /acme-tools/1.0.0/acme-tools-1.0.0.bin')).code, 150);
  const revoked = performance.now();
  await chain.call('entitlement.revoke', { id: tools.id });
  const reply = await ftp.reply(5000);
  const ms = performance.now() - revoked;
  t.is(reply.code, 426);
  t.regex(reply.text, /release withdrawn/);
  t.true(ms < SECOND, `426 after ${Math.round(ms)} ms`);
  t.is((await ftp.send('PWD')).code, 257, 'the session goes on');
  t.log(`FTP 426 after ${Math.round(ms)} ms`);
});

test.serial('SFTP and HTTP in worker processes: a lost release is cut off there too; a replaced HTTP worker starts with the cut-offs', async (t) => {
  const chain = await feedChain(t);
  await chain.fileHost.close(0); // again with SFTP and HTTP workers
  const started = await FileHostService.start({
    ...chainFileHostOptions({ fileDir: chain.fileDir, fileHostBag: chain.fileHostBag, web: chain.web, log: silentLogger }),
    feedStateDir: chain.stateDir,
    sftp: { port: 0, hostKey: chain.hostKey, workers: 2 },
    httpWorkers: 2,
    sessions: { loginCacheSeconds: 600 },
  });
  t.teardown(() => started.close(0));
  await publishRelease({ ...chain, fileHost: started }, 'acme-db', '1.0.0', randomBytes(8 * 1024 * 1024));
  const grant = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const { sftp, close } = await sftpLogin(started.sftpAddress!.port);
  t.teardown(close);
  const handle = await openFile(sftp, '/acme-db/1.0.0/acme-db-1.0.0.bin');
  t.true((await readAt(sftp, handle, 0)) instanceof Buffer);
  const url = await chain.web.fulfillment.downloadUrl('globex', '/acme-db/1.0.0/acme-db-1.0.0.bin');
  t.is((await fetch(url, { method: 'HEAD' })).status, 200);
  const revoked = performance.now();
  await chain.call('entitlement.revoke', { id: grant.id });
  let failure: Error | undefined;
  const ms = await msUntil(async () => {
    const got = await readAt(sftp, handle, 0);
    if (got instanceof Error) failure = got;
    return failure !== undefined;
  });
  t.regex(failure!.message, /release withdrawn/);
  t.true(ms < SECOND, `the READ in a worker failed after ${Math.round(ms)} ms`);
  const refused = await fetch(url, { method: 'HEAD' });
  t.is(refused.status, 403);
  t.true(performance.now() - revoked < 2 * SECOND);
  // A replaced worker (of two: it borrows the listening socket from the other) starts with the cut-offs.
  const [pid] = started.httpWorkerPids;
  process.kill(pid!, 'SIGKILL');
  await waitFor(() => started.httpWorkerPids.length === 2 && !started.httpWorkerPids.includes(pid!), 10_000, 'a replacement HTTP worker');
  const statuses = [];
  for (let i = 0; i < 10; i++) statuses.push((await fetch(url, { method: 'HEAD', headers: { connection: 'close' } })).status);
  t.deepEqual(statuses, Array(10).fill(403), 'refused by both workers');
  t.pass();
});

test.serial('a web host restart: the file host resumes from the last change it applied, including those made while the link was down', async (t) => {
  const chain = await feedChain(t);
  await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
  const grant = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  await chain.fileHost.areaSync.sync('globex');
  await waitFor(() => chain.fileHost.changeFeed.seq === head(chain), 5000, 'the file host to catch up');
  const port = chain.web.commlinkAddress.port;
  await chain.web.close(0);
  await chain.call('entitlement.revoke', { id: grant.id });
  const { privateKeyPem } = ticketKeys();
  const web = await WebService.start({
    host: '127.0.0.1',
    commlinkPort: port,
    internalDb: { mode: 'listen', host: '127.0.0.1', port: chain.service.address!.port, dialListenHost: '127.0.0.1', dialListenPort: 0 },
    commlink: { reconnectMinMs: 20, reconnectMaxMs: 200 },
    bags: { fileHosts: chain.fileHostBag, internalDb: chain.bag },
    ticketPrivateKeyPem: privateKeyPem,
    ticketTtlSeconds: 300,
    log: silentLogger,
  });
  t.teardown(() => web.close(0));
  t.true(await chain.fileHost.changeFeed.applied(head(chain), 10_000), 'the revocation made while the web host was down is applied');
  await waitFor(async () => (await chain.fileHost.stager.list('globex')).length === 0, 5000, 'the area pruned');
  t.pass();
});

test('a state file that is not ours is logged and ignored: the file host starts at the head', async (t) => {
  const chain = await feedChain(t);
  await chain.fileHost.close(0);
  await writeFile(join(chain.stateDir, 'file-1.json'), '{"seq": "not a number"');
  const again = await FileHostService.start({
    ...chainFileHostOptions({ fileDir: chain.fileDir, fileHostBag: chain.fileHostBag, web: chain.web, log: silentLogger }),
    feedStateDir: chain.stateDir,
  });
  t.teardown(() => again.close(0));
  t.true(await again.changeFeed.applied(head(chain), 5000));
  const seqOnDisk = async () => {
    try {
      return (JSON.parse(await readFile(join(chain.stateDir, 'file-1.json'), 'utf8')) as { seq: number }).seq;
    } catch {
      return undefined;
    }
  };
  await waitFor(async () => (await seqOnDisk()) === head(chain), 5000, 'a good state file');
  t.pass();
});

test.serial('OpenSSH sftp: a get of a lost release fails, a disabled customer is told why it was disconnected', async (t) => {
  const chain = await feedChain(t);
  const size = 24 * 1024 * 1024;
  await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(size));
  const grant = await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const key = generateEd25519('globex laptop');
  await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
  const { dir } = await opensshClient(t, { port: chain.fileHost.sftpAddress!.port, privateKey: key.private });
  // sftp -l: a bandwidth limit (Kbit/s), so the get is still running when the change comes.
  const slowGet = async (local: string) => {
    await writeFile(join(dir, 'batch'), `get /acme-db/1.0.0/acme-db-1.0.0.bin ${local}\nbye\n`);
    const args = ['-l', '20000', '-b', join(dir, 'batch'), '-P', String(chain.fileHost.sftpAddress!.port), '-i', join(dir, 'id')];
    args.push('-o', 'StrictHostKeyChecking=no', '-o', `UserKnownHostsFile=${join(dir, 'known_hosts')}`, '-o', 'BatchMode=yes', 'globex@127.0.0.1');
    return new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile('sftp', args, { timeout: 60_000 }, (err, _stdout, stderr) =>
        resolve({ code: err ? ((err as { code?: number }).code ?? -1) : 0, stderr }),
      );
      t.teardown(() => child.kill());
    });
  };
  const local = join(dir, 'lost.bin');
  const lost = slowGet(local);
  await waitFor(async () => ((await stat(local).catch(() => undefined))?.size ?? 0) > 0, 10_000, 'the get to start');
  await chain.call('entitlement.revoke', { id: grant.id });
  const first = await lost;
  t.not(first.code, 0, 'sftp exits with an error');
  t.true((await stat(local)).size < size, 'the file did not arrive whole');
  t.log(`OpenSSH sftp on a withdrawn release: ${first.stderr.trim()}`);

  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const second = join(dir, 'disabled.bin');
  const running = slowGet(second);
  await waitFor(async () => ((await stat(second).catch(() => undefined))?.size ?? 0) > 0, 10_000, 'the second get to start');
  await chain.call('customer.setDisabled', { login: 'globex', disabled: true });
  const ended = await running;
  t.not(ended.code, 0);
  t.regex(ended.stderr, /Your access has ended/, 'OpenSSH prints the disconnect reason');
  t.log(`OpenSSH sftp when disabled: ${ended.stderr.trim()}`);
});

test.serial('a reset (the changes it missed are no longer kept): caches dropped, tickets issued before refused, new ones served', async (t) => {
  const chain = await feedChain(t);
  await publishRelease(chain, 'acme-db', '1.0.0', randomBytes(5000));
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  await chain.fileHost.areaSync.sync('globex');
  const path = '/acme-db/1.0.0/acme-db-1.0.0.bin';
  const old = await chain.web.fulfillment.downloadUrl('globex', path);
  await waitFor(() => chain.fileHost.changeFeed.seq === head(chain), 5000, 'the file host to catch up');
  await chain.fileHost.close(0);
  await chain.call('customer.create', { login: 'initech', name: 'Initech', password: PASSWORD });
  await chain.call('customer.create', { login: 'hooli', name: 'Hooli', password: PASSWORD });
  await new Promise((r) => setTimeout(r, 10));
  t.true(chain.service.store.changes.prune(0) > 0, 'the log lost what the file host had not seen');
  const again = await FileHostService.start({
    ...chainFileHostOptions({ fileDir: chain.fileDir, fileHostBag: chain.fileHostBag, web: chain.web, log: silentLogger }),
    feedStateDir: chain.stateDir,
  });
  t.teardown(() => again.close(0));
  t.true(await again.changeFeed.applied(head(chain), 5000));
  const refused = await fetch(old.replace(chain.fileHost.httpUrl, again.httpUrl));
  t.is(refused.status, 403, 'a ticket issued before the reset may be stale: refused');
  t.is(refused.headers.get('x-error-code'), 'ERR_TICKET_SUPERSEDED');
  await new Promise((r) => setTimeout(r, 5));
  const fresh = await chain.web.fulfillment.downloadUrl('globex', path, { host: 'file-1' });
  t.is((await fetch(fresh.replace(chain.fileHost.httpUrl, again.httpUrl))).status, 200);
});
