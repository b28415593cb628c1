import test from 'ava';
import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { waitFor } from './helpers/chain.js';
import { download, login, PASSWORD, setup } from './helpers/ftp.js';
import { listAll, seedCatalogue, startInternalDb } from './helpers/internal-db.js';
import { readRemote, sftpConnect } from './helpers/sftp.js';

const hostKey = generateEd25519().private;

interface Recorded {
  eventId: string;
  protocol: string;
  path: string;
  artifactId: number | null;
  outcome: string;
}

/**
 * FTP and SFTP know a transfer by its path in the area; HTTP by its ticket, which names the
 * artifact. The internal-db gives an event recorded without an artifact id the artifact its path
 * names, so every protocol's events of one file carry the same id.
 */
test('FTP and SFTP downloads are audited with the artifact id an HTTP download carries; a file that is no artifact keeps null', async (t) => {
  const { chain, ftp, content, path, diskPath } = await setup(t, { chain: { fileHost: { sftp: { port: 0, hostKey } } } });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  const artifactId = staged.files[0]!.artifactId;
  const resolved = (await chain.call('release.resolve', { customer: 'globex' })).artifacts as { artifactId: number; filename: string }[];
  t.is(resolved.find((a) => a.filename === 'acme-db-1.0.0.tar.gz')?.artifactId, artifactId);
  // A file in the area that is no artifact (put there by hand).
  const notesPath = `${dirname(path)}/notes.txt`;
  const notes = Buffer.from('not an artifact\n');
  await writeFile(join(dirname(diskPath), 'notes.txt'), notes);

  const http = await fetch(staged.files[0]!.url);
  t.true(Buffer.from(await http.arrayBuffer()).equals(content), 'HTTP download');

  const client = await login(t, ftp);
  t.true((await download(client, path)).equals(content), 'FTP download');
  t.true((await download(client, notesPath)).equals(notes), 'FTP download of a file that is no artifact');
  await client.list(dirname(path)); // a listing: no transfer of a file

  const { sftp, close } = await sftpConnect({ port: chain.fileHost.sftpAddress!.port, username: 'globex', password: PASSWORD });
  t.teardown(close);
  t.true((await readRemote(sftp, path)).equals(content), 'SFTP download');
  t.true((await readRemote(sftp, notesPath)).equals(notes), 'SFTP download of a file that is no artifact');
  await t.throwsAsync(readRemote(sftp, `${dirname(path)}/missing.tar.gz`), undefined, 'SFTP: no such file');

  let events: Recorded[] = [];
  await waitFor(
    async () => {
      events = (await listAll(chain.call, 'audit.query', 'events', { customer: 'globex' })) as unknown as Recorded[];
      return events.length >= 5;
    },
    15_000,
    '5 audit events',
  );
  const of = (protocol: string, p: string) => events.filter((e) => e.protocol === protocol && e.path === p).map((e) => e.artifactId);
  t.deepEqual(of('http', path), [artifactId], 'HTTP: from the ticket');
  t.deepEqual(of('ftp', path), [artifactId], 'FTP: the same artifact id');
  t.deepEqual(of('sftp', path), [artifactId], 'SFTP: the same artifact id');
  t.deepEqual(of('ftp', notesPath), [null], 'FTP: no artifact, null');
  t.deepEqual(of('sftp', notesPath), [null], 'SFTP: no artifact, null');
  t.is(events.length, 5, `only the five transfers are audited: ${events.map((e) => `${e.protocol} ${e.path}`).join(', ')}`);
});

test('audit.record and audit.recordCompact fill a missing artifact id from the path; a given one, or a path that names none, stays', async (t) => {
  const { call } = await startInternalDb(t);
  await seedCatalogue(call);
  const artifacts = new Map<string, number>(); // path in an area → artifact id
  for (const release of (await listAll(call, 'release.list', 'releases', { product: 'acme-db' })) as {
    version: string;
    artifacts: { id: number; filename: string }[];
  }[])
    for (const a of release.artifacts) artifacts.set(`/acme-db/${release.version}/${a.filename}`, a.id);
  t.is(artifacts.size, 3);
  const [first, second, third] = [...artifacts.keys()] as [string, string, string];
  const at = new Date().toISOString();
  const event = (eventId: string, path: string, artifactId?: number | null) => ({
    eventId,
    customer: 'globex',
    path,
    protocol: 'sftp',
    clientAddress: '127.0.0.1',
    bytes: 1,
    durationMs: 1,
    outcome: 'complete',
    at,
    ...(artifactId === undefined ? {} : { artifactId }),
  });
  const cases: [string, string, number | null | undefined, number | null][] = [
    ['filled', first, null, artifacts.get(first)!],
    ['filled when absent', second, undefined, artifacts.get(second)!],
    ['given, kept', first, artifacts.get(third)!, artifacts.get(third)!],
    ['other version', third.replace('2.0.0', '9.9.9'), null, null],
    ['other product', first.replace('/acme-db/', '/other/'), null, null],
    ['missing file', '/acme-db/1.0.0/missing.tar.gz', null, null],
    ['a directory', '/acme-db/1.0.0', null, null],
    ['deeper path', `/acme-db${first}`, null, null],
    ['root', '/', null, null],
  ];
  // Many events of a few paths in one batch, as a file host sends them.
  const batch = cases.map(([, path, id], n) => event(`record-${n}`, path, id));
  for (let n = 0; n < 1500; n++) batch.push(event(`record-bulk-${n}`, [first, second, third][n % 3]!, null));
  t.deepEqual(await call('audit.record', { events: batch }), { recorded: batch.length, received: batch.length });

  const recorded = new Map((await listAll(call, 'audit.query', 'events', { customer: 'globex' })).map((e) => [e.eventId as string, e.artifactId]));
  for (const [n, [name, , , expected]] of cases.entries()) t.is(recorded.get(`record-${n}`), expected, `audit.record: ${name}`);
  for (let n = 0; n < 1500; n++) t.is(recorded.get(`record-bulk-${n}`), artifacts.get([first, second, third][n % 3]!), `bulk-${n}`);

  // The compact form (what file hosts send, also for outcomes journaled by an earlier run).
  const groups = cases.map(([name, path, id], n) => ({
    customer: 'globex',
    path,
    protocol: 'ftp',
    clientAddress: '127.0.0.1',
    idPrefix: `compact-${n}-xx`,
    events: `1 10 5 c ${Date.now()}\n2 3 1 a ${Date.now()}`,
    ...(id === undefined ? {} : { artifactId: id }),
    name,
  }));
  t.deepEqual(await call('audit.recordCompact', { groups: groups.map(({ name: _name, ...g }) => g) }), {
    recorded: 2 * groups.length,
    received: 2 * groups.length,
  });
  const compact = new Map(
    (await listAll(call, 'audit.query', 'events', { customer: 'globex', protocol: 'ftp' })).map((e) => [e.eventId as string, e.artifactId]),
  );
  for (const [n, [name, , , expected]] of cases.entries()) {
    t.is(compact.get(`compact-${n}-xx:1`), expected, `audit.recordCompact: ${name}`);
    t.is(compact.get(`compact-${n}-xx:2`), expected, `audit.recordCompact: ${name} (second line)`);
  }
});
