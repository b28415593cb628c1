import test from 'ava';
import { Client } from 'basic-ftp';
import { randomBytes } from 'node:crypto';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { api, makeTokens } from './helpers/api.js';
import { publish, startChain, waitFor } from './helpers/chain.js';
import { download, HOST, PASSWORD, Raw } from './helpers/ftp.js';
import { readRemote, sftpConnect } from './helpers/sftp.js';

const PATH = '/acme-db/1.0.0/acme-db-1.0.0.tar.gz';

/** The value of one sample of the Prometheus text (0 when absent). */
function sample(text: string, name: string, labels: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${name}{${labels}} `));
  return line === undefined ? 0 : Number(line.slice(line.lastIndexOf(' ') + 1));
}

test('the file host serves /metrics and /healthz on its own listener: live sessions by protocol, bytes and transfers by protocol and outcome, workers included', async (t) => {
  const passive = 32_700 + Math.floor(Math.random() * 6) * 10;
  const chain = await startChain(t, {
    webHttp: {},
    fileHost: {
      httpWorkers: 2,
      sftp: { port: 0, hostKey: generateEd25519().private, workers: 2 },
      ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 9, passiveAddress: '', requireTls: false },
      ops: { host: '127.0.0.1', port: 0 },
    },
  });
  const size = 24 * 1024 * 1024;
  await publish(chain, '1.0.0', randomBytes(size));
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const tokens = await makeTokens(chain);
  const staging = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } });
  const link = (staging.body.files as { url: string }[])[0]!.url;

  const ops = `http://127.0.0.1:${chain.fileHost.opsAddress!.port}`;
  const health = await fetch(`${ops}/healthz`);
  t.is(health.status, 200);
  t.deepEqual(await health.json(), { status: 'ok', webLink: true });
  t.is((await fetch(`${ops}/other`)).status, 404);
  t.is((await fetch(`${ops}/metrics`, { method: 'POST' })).status, 405);
  const metrics = async () => {
    const res = await fetch(`${ops}/metrics`);
    t.regex(res.headers.get('content-type') ?? '', /^text\/plain/);
    return res.text();
  };
  let text = await metrics();
  t.regex(text, /^process_cpu_user_seconds_total /m, 'process metrics');
  t.regex(text, /^nodejs_eventloop_lag_seconds /m);
  for (const protocol of ['ftp', 'sftp', 'http']) {
    t.is(sample(text, 'ffs_file_host_sessions', `protocol="${protocol}"`), 0, protocol);
    t.is(sample(text, 'ffs_file_host_transfers_total', `protocol="${protocol}",outcome="complete"`), 0, protocol);
    t.regex(text, new RegExp(`^ffs_file_host_bytes_served_total\\{protocol="${protocol}"\\} 0$`, 'm'));
  }

  // One complete download each (HTTP and SFTP in worker processes).
  t.is((await (await fetch(link)).arrayBuffer()).byteLength, size);
  const ftp = new Client(30_000);
  t.teardown(() => ftp.close());
  await ftp.access({ host: HOST, port: chain.fileHost.ftpAddress!.port, user: 'globex', password: PASSWORD });
  t.is((await download(ftp, PATH)).length, size);
  const sftp = await sftpConnect({ port: chain.fileHost.sftpAddress!.port, username: 'globex', password: PASSWORD });
  t.teardown(sftp.close);
  t.is((await readRemote(sftp.sftp, PATH)).length, size);
  await waitFor(
    async () => {
      text = await metrics();
      return ['ftp', 'sftp', 'http'].every((p) => sample(text, 'ffs_file_host_transfers_total', `protocol="${p}",outcome="complete"`) === 1);
    },
    10_000,
    () => `one complete transfer per protocol counted:\n${text}`,
  );
  for (const protocol of ['ftp', 'sftp', 'http']) t.is(sample(text, 'ffs_file_host_bytes_served_total', `protocol="${protocol}"`), size, protocol);

  // Live: the FTP and SFTP sessions logged in, and an HTTP download held part way.
  const held = await fetch(link);
  const reader = held.body!.getReader();
  t.false((await reader.read()).done);
  await waitFor(
    async () => {
      text = await metrics();
      return ['ftp', 'sftp', 'http'].every((p) => sample(text, 'ffs_file_host_sessions', `protocol="${p}"`) === 1);
    },
    10_000,
    () => `one live session per protocol:\n${text}`,
  );
  const raw = await Raw.open(t, chain.fileHost.ftpAddress!.port);
  await raw.reply();
  await raw.login();
  await waitFor(async () => sample(await metrics(), 'ffs_file_host_sessions', 'protocol="ftp"') === 2, 5000, 'a second FTP session');

  // The held download ended through the API: an aborted HTTP transfer, and no HTTP session left.
  const listed = (await api(chain, 'GET', '/api/v1/sessions', { token: tokens.admin })).body.sessions as { id: string; protocol: string }[];
  const http = listed.find((s) => s.protocol === 'http')!;
  t.is((await api(chain, 'DELETE', `/api/v1/sessions/${http.id}`, { token: tokens.admin })).status, 200);
  await reader.cancel().catch(() => {});
  await waitFor(
    async () => {
      text = await metrics();
      return (
        sample(text, 'ffs_file_host_transfers_total', 'protocol="http",outcome="aborted"') === 1 &&
        sample(text, 'ffs_file_host_sessions', 'protocol="http"') === 0
      );
    },
    10_000,
    () => `the cut download counted as aborted:\n${text}`,
  );
  t.true(sample(text, 'ffs_file_host_bytes_served_total', 'protocol="http"') > size, 'the bytes of the cut download count too');
  sftp.close();
  await raw.send('QUIT');
  await waitFor(
    async () => {
      text = await metrics();
      return sample(text, 'ffs_file_host_sessions', 'protocol="sftp"') === 0 && sample(text, 'ffs_file_host_sessions', 'protocol="ftp"') === 1;
    },
    10_000,
    () => `closed sessions leave the gauge:\n${text}`,
  );
});
