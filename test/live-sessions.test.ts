import test, { type ExecutionContext } from 'ava';
import { Client } from 'basic-ftp';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { silentLogger } from '../lib/log/logger.js';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { WebLink } from '../services/ftp/common/web-link.js';
import { api, makeTokens } from './helpers/api.js';
import { publish, startChain, type Chain } from './helpers/chain.js';
import { HOST, PASSWORD, Raw } from './helpers/ftp.js';
import { opensshClient } from './helpers/sftp.js';
import { waitFor, within } from './helpers/wait.js';

const SIZE = 48 * 1024 * 1024;
const PATH = '/acme-db/1.0.0/acme-db-1.0.0.tar.gz';

interface Listed {
  id: string;
  host: string;
  customer: string;
  protocol: string;
  clientAddress: string;
  file: string | null;
  bytes: number;
  rate: number;
  startedAt: string;
  elapsedMs: number;
}

/** A chain whose file host runs FTP, SFTP (in `workers` processes, or in its own) and HTTP downloads (in `workers` processes, at least one), with its metrics listener. */
async function setup(t: ExecutionContext, workers: number) {
  const passive = 31_000 + Math.floor(Math.random() * 95) * 10;
  const chain = await startChain(t, {
    webHttp: {},
    fileHost: {
      httpWorkers: Math.max(1, workers),
      sftp: { port: 0, hostKey: generateEd25519().private, workers },
      ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 9, passiveAddress: '', requireTls: false },
      ops: { host: '127.0.0.1', port: 0 },
    },
  });
  await publish(chain, '1.0.0', randomBytes(SIZE));
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const key = generateEd25519('globex laptop');
  await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
  const tokens = await makeTokens(chain);
  const staging = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } });
  t.is(staging.status, 201);
  const link = (staging.body.files as { url: string }[])[0]!.url;
  return { chain, tokens, link, key };
}

/** A Writable that takes a chunk every 100 ms: the FTP download runs for minutes. */
function slowSink(): Writable & { received: number } {
  const sink = new Writable({
    highWaterMark: 16 * 1024,
    write(chunk: Buffer, _enc, cb) {
      sink.received += chunk.length;
      setTimeout(cb, 100);
    },
  }) as Writable & { received: number };
  sink.received = 0;
  return sink;
}

/** The three downloads, held slow: basic-ftp into a slow sink, OpenSSH sftp -l (bandwidth limit), curl --limit-rate. */
async function startDownloads(t: ExecutionContext, chain: Chain, link: string, key: { private: string }) {
  const ftp = new Client(30_000);
  t.teardown(() => ftp.close());
  await ftp.access({ host: HOST, port: chain.fileHost.ftpAddress!.port, user: 'globex', password: PASSWORD });
  const ftpDone = ftp.downloadTo(slowSink(), PATH).then(
    () => 'complete',
    (err: Error & { code?: number }) => `${err.code ?? ''} ${err.message}`,
  );

  const { dir } = await opensshClient(t, { port: chain.fileHost.sftpAddress!.port, privateKey: key.private });
  await writeFile(join(dir, 'batch'), `get ${PATH} ${join(dir, 'out')}\nbye\n`);
  const sftp = spawn(
    'sftp',
    [
      '-b',
      join(dir, 'batch'),
      '-l',
      '2000', // Kbit/s
      '-P',
      String(chain.fileHost.sftpAddress!.port),
      '-i',
      join(dir, 'id'),
      '-o',
      'StrictHostKeyChecking=no',
      '-o',
      `UserKnownHostsFile=${join(dir, 'known_hosts')}`,
      '-o',
      'BatchMode=yes',
      'globex@127.0.0.1',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  t.teardown(() => sftp.kill('SIGKILL'));
  const sftpDone = exited(sftp);

  // 1 MB/s: what the client's socket buffer holds when the download is cut (a few MB) is read out within seconds.
  const curl = spawn('/usr/bin/curl', ['-sS', '--limit-rate', '1M', '-o', '/dev/null', link], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => curl.kill('SIGKILL'));
  const curlDone = exited(curl);
  return { ftpDone, sftpDone, curlDone };
}

function exited(child: ReturnType<typeof spawn>): Promise<{ code: number | null; stderr: string }> {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout!.resume();
  return new Promise((resolve) => child.once('exit', (code) => resolve({ code, stderr })));
}

async function listed(chain: Chain, token: string): Promise<{ sessions: Listed[]; unavailable: unknown[] }> {
  const answer = await api(chain, 'GET', '/api/v1/sessions', { token });
  if (answer.status !== 200) throw new Error(`GET /api/v1/sessions: ${answer.status} ${answer.text}`);
  return answer.body as unknown as { sessions: Listed[]; unavailable: unknown[] };
}

/** Waits until each protocol has a session of globex sending the file, and answers them by protocol. */
async function allThree(chain: Chain, token: string): Promise<Record<'ftp' | 'sftp' | 'http', Listed>> {
  let last: Listed[] = [];
  await waitFor(
    async () => {
      last = (await listed(chain, token)).sessions;
      return ['ftp', 'sftp', 'http'].every((p) => last.some((s) => s.protocol === p && s.file === PATH && s.bytes > 0));
    },
    20_000,
    () => `an FTP, an SFTP and an HTTP session sending the file; listed: ${JSON.stringify(last)}`,
  );
  const of = (protocol: string) => last.find((s) => s.protocol === protocol && s.file === PATH)!;
  return { ftp: of('ftp'), sftp: of('sftp'), http: of('http') };
}

async function aborted(chain: Chain, protocol: string): Promise<void> {
  await waitFor(
    async () =>
      ((await chain.call('audit.query', { customer: 'globex', protocol })).events as { outcome: string; bytes: number }[]).some(
        (e) => e.outcome === 'aborted' && e.bytes > 0 && e.bytes < SIZE,
      ),
    10_000,
    `the ${protocol} download in the audit, aborted`,
  );
}

const seeAndEnd = test.macro(async (t, workers: number) => {
  const { chain, tokens, link, key } = await setup(t, workers);
  const done = await startDownloads(t, chain, link, key);
  const sessions = await allThree(chain, tokens.admin);
  for (const s of Object.values(sessions)) {
    t.is(s.customer, 'globex');
    t.is(s.host, 'file-1');
    t.is(s.clientAddress, '127.0.0.1');
    t.regex(s.id, new RegExp(`^file-1:${s.protocol}-`));
    t.true(s.elapsedMs >= 0 && Date.parse(s.startedAt) <= Date.now());
    t.true(s.rate >= 0);
  }
  if (workers > 0) {
    t.regex(sessions.sftp.id, /^file-1:sftp-w[0-9a-f]{6}-\d+$/, 'an SFTP session of a worker process');
    t.regex(sessions.http.id, /^file-1:http-w[0-9a-f]{6}-\d+$/, 'an HTTP download of a worker process');
  } else t.regex(sessions.sftp.id, /^file-1:sftp-[0-9a-f]{6}-\d+$/, 'an SFTP session of the file host process');
  await waitFor(async () => (await listed(chain, tokens.admin)).sessions.some((s) => s.rate > 0), 10_000, 'a current rate above 0');

  // Ended one by one: each client sees its end, each transfer is audited as aborted.
  const end = (id: string, reason?: string) =>
    api(chain, 'DELETE', `/api/v1/sessions/${encodeURIComponent(id)}${reason ? `?reason=${encodeURIComponent(reason)}` : ''}`, { token: tokens.admin });
  const ftpEnd = await end(sessions.ftp.id);
  t.is(ftpEnd.status, 200, ftpEnd.text);
  t.deepEqual(ftpEnd.body, { ended: true, id: sessions.ftp.id });
  const ftpResult = await within(done.ftpDone, 10_000, 'the FTP download to fail');
  t.regex(ftpResult, /^421 .*Ended by an administrator/, 'basic-ftp sees the 421 and its reason');
  await aborted(chain, 'ftp');

  t.is((await end(sessions.sftp.id, 'Maintenance window')).status, 200);
  const sftpResult = await within(done.sftpDone, 10_000, 'OpenSSH sftp to exit');
  t.not(sftpResult.code, 0);
  t.regex(sftpResult.stderr, /Maintenance window/, 'OpenSSH shows the disconnect reason');
  await aborted(chain, 'sftp');

  const httpEnd = await end(sessions.http.id);
  t.is(httpEnd.status, 200, httpEnd.text);
  const curlResult = await within(done.curlDone, 30_000, 'curl to exit');
  t.not(curlResult.code, 0, 'curl exits with an error');
  await aborted(chain, 'http');

  // Gone from the list; ending one again is 404.
  await waitFor(async () => (await listed(chain, tokens.admin)).sessions.length === 0, 5000, 'no session listed');
  t.is((await end(sessions.http.id)).status, 404);
});

test('GET /api/v1/sessions lists an FTP, an SFTP and an HTTP download with their file and bytes; DELETE ends each, audited as aborted', seeAndEnd, 0);
test('with SFTP and HTTP worker processes, their sessions are listed and ended all the same', seeAndEnd, 2);

test('only an admin sees and ends sessions; an unknown id is 404, one of a file host not connected 503', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex' });
  const tokens = await makeTokens(chain);
  for (const token of [tokens.customer, tokens.vendor]) {
    t.is((await api(chain, 'GET', '/api/v1/sessions', { token })).status, 403);
    t.is((await api(chain, 'DELETE', '/api/v1/sessions/file-1:ftp-1', { token })).status, 403);
  }
  t.is((await api(chain, 'GET', '/api/v1/sessions')).status, 401);
  t.deepEqual((await api(chain, 'GET', '/api/v1/sessions', { token: tokens.admin })).body, { sessions: [], unavailable: [] });
  for (const id of ['file-1:ftp-1', 'file-1:http-w1-1', 'nonsense', 'file-1:', 'file-1:FTP-1']) {
    const answer = await api(chain, 'DELETE', `/api/v1/sessions/${encodeURIComponent(id)}`, { token: tokens.admin });
    t.is(answer.status, 404, id);
    t.is((answer.body.error as { code: string }).code, 'ERR_NOT_FOUND', id);
  }
  const elsewhere = await api(chain, 'DELETE', '/api/v1/sessions/file-9:ftp-1', { token: tokens.admin });
  t.is(elsewhere.status, 503);
  t.is((elsewhere.body.error as { code: string }).code, 'ERR_NO_FILE_HOST');
  const tooLong = await api(chain, 'DELETE', `/api/v1/sessions/file-1:ftp-1?reason=${'x'.repeat(201)}`, { token: tokens.admin });
  t.is(tooLong.status, 400);
  const twoLines = await api(chain, 'DELETE', `/api/v1/sessions/file-1:ftp-1?reason=${encodeURIComponent('bye\r\n230 logged in')}`, { token: tokens.admin });
  t.is(twoLines.status, 400, 'a reason is one line: nothing can be slipped into the FTP reply or the SSH disconnect');
});

test('a file host that does not answer within 2 s is listed as unavailable; the sessions of the others are listed all the same', async (t) => {
  const passive = 31_000 + Math.floor(Math.random() * 95) * 10;
  const chain = await startChain(t, {
    webHttp: {},
    fileHost: { ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 9, passiveAddress: '', requireTls: false } },
  });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const tokens = await makeTokens(chain);
  // A second "file host" that registers and then never answers sessions.list (a frozen host whose link is still up).
  const frozen = new WebLink({
    host: '127.0.0.1',
    port: chain.web.commlinkAddress.port,
    bag: chain.fileHostBag,
    handlers: new Map([['sessions.list', () => new Promise<never>(() => {})]]),
    registration: () => ({ name: 'file-2', httpUrl: 'http://127.0.0.1:9' }),
    log: silentLogger,
  });
  t.teardown(() => frozen.close(0));
  await frozen.start(5000);
  await waitFor(() => chain.web.fileHosts.has('file-2'), 5000, 'file-2 registered');
  const ftp = await Raw.open(t, chain.fileHost.ftpAddress!.port);
  await ftp.reply();
  await ftp.login();

  const answer = await within(listed(chain, tokens.admin), 10_000, 'the listing, despite file-2');
  t.deepEqual(
    answer.sessions.map((s) => [s.host, s.protocol, s.customer]),
    [['file-1', 'ftp', 'globex']],
  );
  t.deepEqual(answer.unavailable, [{ host: 'file-2', code: 'ERR_GATEWAY_UNAVAILABLE' }]);
});
