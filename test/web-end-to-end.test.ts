import test from 'ava';
import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { promisify } from 'node:util';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { api, sha256Of, uploadFile, writeRandomFile } from './helpers/api.js';
import { startChain, waitFor } from './helpers/chain.js';
import { sftpConnect } from './helpers/sftp.js';

const MiB = 1024 * 1024;
const SIZE = 100 * MiB;
const PASSWORD = 'correct horse battery';

test('end to end: a vendor publishes 100 MiB through the API, an admin entitles a customer, who downloads it byte-identical over HTTP, FTP and SFTP; the audit shows three complete downloads', async (t) => {
  const passive = 31_000 + Math.floor(Math.random() * 40) * 20;
  const chain = await startChain(t, {
    webHttp: {},
    fileHost: {
      sftp: { port: 0, hostKey: generateEd25519().private },
      ftp: { port: 0, passivePortMin: passive, passivePortMax: passive + 19, passiveAddress: '', requireTls: false },
    },
  });
  const artifact = await writeRandomFile(join(chain.fileDir, 'artifact.bin'), SIZE);
  t.teardown(() => rm(artifact.path, { force: true }));
  await chain.call('vendor.create', { name: 'Acme Software' });
  const admin = (await chain.call('token.create', { kind: 'admin' })).token as string;
  const vendor = (await chain.call('token.create', { kind: 'vendor', owner: 'Acme Software' })).token as string;

  // The vendor publishes, streaming 100 MiB through web → commlink → file host.
  t.is((await api(chain, 'POST', '/api/v1/products', { token: vendor, json: { code: 'acme-db', name: 'Acme DB' } })).status, 201);
  t.is((await api(chain, 'POST', '/api/v1/products/acme-db/releases', { token: vendor, json: { version: '3.0.0' } })).status, 201);
  const upload = await uploadFile(
    `${chain.web.httpUrl}/api/v1/products/acme-db/releases/3.0.0/artifacts/acme-db-3.0.0.iso?platform=linux&arch=x64`,
    vendor,
    artifact.path,
    SIZE,
    { 'x-checksum-sha256': artifact.sha256 },
  );
  t.is(upload.status, 201, JSON.stringify(upload.body));
  t.like(upload.body, { sha256: artifact.sha256, size: SIZE, filename: 'acme-db-3.0.0.iso' });
  t.is((await api(chain, 'POST', '/api/v1/products/acme-db/releases/3.0.0/publish', { token: vendor })).status, 200);

  // The admin creates the customer, entitles it, and gives it a token.
  t.is((await api(chain, 'POST', '/api/v1/customers', { token: admin, json: { login: 'globex', name: 'Globex Corp', password: PASSWORD } })).status, 201);
  t.is((await api(chain, 'POST', '/api/v1/customers/globex/entitlements', { token: admin, json: { product: 'acme-db', range: '^3.0.0' } })).status, 201);
  const customer = (await api(chain, 'POST', '/api/v1/tokens', { token: admin, json: { kind: 'customer', owner: 'globex' } })).body.token as string;

  // HTTP: the API's 303 to the file host.
  const { artifacts } = (await api(chain, 'GET', '/api/v1/downloads', { token: customer })).body as { artifacts: { artifactId: number; sha256: string }[] };
  t.is(artifacts.length, 1);
  t.is(artifacts[0]!.sha256, artifact.sha256);
  const redirect = await api(chain, 'GET', `/api/v1/artifacts/${artifacts[0]!.artifactId}/download`, { token: customer });
  t.is(redirect.status, 303);
  const res = await fetch(redirect.headers.get('location')!);
  t.is(res.status, 200);
  t.deepEqual(await sha256Of(Readable.fromWeb(res.body! as never)), { sha256: artifact.sha256, size: SIZE });

  // FTP and SFTP: the staging shows where, with the customer's own login.
  const staged = await api(chain, 'POST', '/api/v1/stagings', { token: customer, json: { product: 'acme-db', version: '3.0.0' } });
  t.is(staged.status, 201, staged.text);
  const ftpUrl = new URL(staged.body.ftpUrl as string);
  const sftpUrl = new URL(staged.body.sftpUrl as string);
  t.is(ftpUrl.username, 'globex');
  t.is(sftpUrl.username, 'globex');
  t.is(ftpUrl.pathname, '/acme-db/3.0.0/');
  const viaFtp = await promisify(execFile)(
    'curl',
    ['-sS', '--fail', '-o', '-', `ftp://globex:${encodeURIComponent(PASSWORD)}@${ftpUrl.host}${ftpUrl.pathname}acme-db-3.0.0.iso`],
    { encoding: 'buffer', maxBuffer: SIZE + MiB },
  );
  t.deepEqual(await sha256Of(Readable.from([viaFtp.stdout])), { sha256: artifact.sha256, size: SIZE });
  const { sftp, close } = await sftpConnect({ host: sftpUrl.hostname, port: Number(sftpUrl.port), username: 'globex', password: PASSWORD });
  t.deepEqual(await sha256Of(sftp.createReadStream(`${sftpUrl.pathname}acme-db-3.0.0.iso`)), { sha256: artifact.sha256, size: SIZE });
  close();

  // The audit, through the admin API: three complete downloads of the whole file, one per protocol.
  let events: { protocol: string; bytes: number; outcome: string }[] = [];
  await waitFor(
    async () => {
      events = (await api(chain, 'GET', '/api/v1/audit?customer=globex&outcome=complete', { token: admin })).body.events as typeof events;
      return events.length >= 3;
    },
    10_000,
    'three audit events',
  );
  t.deepEqual(events.map((e) => e.protocol).sort(), ['ftp', 'http', 'sftp']);
  t.true(events.every((e) => e.bytes === SIZE && e.outcome === 'complete'));
});
