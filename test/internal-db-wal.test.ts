/**
 * The internal-db survives being killed mid-write: SQLite in WAL mode with synchronous=full
 * acknowledges a write only after its commit is on disk, so a restart from the same file (and its
 * -wal) has every write that was acknowledged. The internal-db and the web host run as processes.
 */
import test from 'ava';
import Database from 'better-sqlite3';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { startBackbone, startService, tail } from './helpers/processes.js';
import { waitFor } from './helpers/wait.js';
import { listAll } from './helpers/internal-db.js';

/** Requests kept in flight at once by each kind of writer. */
const COMMLINK_WRITERS = 12;
const API_WRITERS = 3;

test('SIGKILL of the internal-db while writes are in flight loses nothing acknowledged: after a restart from its WAL every acknowledged vendor, token and customer is there, the file passes integrity_check, and the web host reconnects and serves', async (t) => {
  const backbone = await startBackbone(t, { FFS_SERVICES__INTERNAL_DB__SYNCHRONOUS: 'full' });
  const { call, webUrl, env } = backbone;
  const admin = (await call('token.create', { kind: 'admin' })).token as string;
  await call('customer.create', { login: 'globex', name: 'Globex' });
  const api = (method: string, path: string, json?: unknown) =>
    fetch(`${webUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${admin}`, ...(json === undefined ? {} : { 'content-type': 'application/json' }) },
      body: json === undefined ? null : JSON.stringify(json),
      signal: AbortSignal.timeout(20_000),
    });

  const acked = { vendors: [] as string[], tokens: [] as string[], customers: [] as string[] };
  let unanswered = 0;
  let stopped = false;
  let next = 0;
  // Each writer loops: one write in flight at a time, recorded only once its acknowledgement came.
  const commlinkWriter = async () => {
    while (!stopped) {
      const n = next++;
      try {
        if (n % 3 === 0) {
          const token = (await call('token.create', { kind: 'customer', owner: 'globex' })).token as string;
          acked.tokens.push(token);
        } else {
          await call('vendor.create', { name: `Vendor ${n}` });
          acked.vendors.push(`Vendor ${n}`);
        }
      } catch {
        unanswered++;
      }
    }
  };
  const apiWriter = async () => {
    while (!stopped) {
      const login = `customer-${next++}`;
      const res = await api('POST', '/api/v1/customers', { login, name: login, password: 'correct horse battery' }).catch(() => undefined);
      await res?.arrayBuffer();
      if (res?.status === 201) acked.customers.push(login);
      else unanswered++;
    }
  };
  const writers = [...Array.from({ length: COMMLINK_WRITERS }, commlinkWriter), ...Array.from({ length: API_WRITERS }, apiWriter)];
  await waitFor(
    () => acked.vendors.length >= 200 && acked.customers.length >= 5,
    60_000,
    () => `writes to be acknowledged (${JSON.stringify({ vendors: acked.vendors.length, customers: acked.customers.length })})\n${tail(backbone.db)}`,
  );

  // Killed mid-stream: writers are still sending; what was not acknowledged by now may or may not be there.
  backbone.db.signal('SIGKILL');
  stopped = true;
  await backbone.db.exited;
  await Promise.all(writers);
  t.true(unanswered > 0, 'some writes were in flight when the internal-db died');
  const counts = { vendors: acked.vendors.length, tokens: acked.tokens.length, customers: acked.customers.length };
  t.log('acknowledged before the kill', counts, 'unanswered', unanswered);
  const dbFile = join(backbone.dataDir, 'internal-db', 'fulfillment.sqlite');
  t.true((await stat(`${dbFile}-wal`)).size > 0, 'the killed process left commits in the WAL, not yet checkpointed into the file');

  // Restarted on the same file and port: SQLite replays the WAL.
  const restarted = startService(t, 'internal-db (restarted)', 'internal-db', env);
  const info = await call('db.info');
  t.truthy(info);
  const vendors = new Set((await listAll(call, 'vendor.list', 'vendors')).map((v) => v.name));
  t.deepEqual(
    acked.vendors.filter((v) => !vendors.has(v)),
    [],
    'every acknowledged vendor is there',
  );
  const customers = new Set((await listAll(call, 'customer.list', 'customers')).map((c) => c.login));
  t.deepEqual(
    acked.customers.filter((c) => !customers.has(c)),
    [],
    'every acknowledged customer is there',
  );
  const refused: string[] = [];
  for (const token of acked.tokens) {
    const owner = await call('token.check', { token }).catch(() => undefined);
    if (owner?.customer !== 'globex') refused.push(token);
  }
  t.deepEqual(refused, [], 'every acknowledged token works');

  // The file itself: WAL mode, and sound.
  const file = new Database(dbFile, { readonly: true, fileMustExist: true });
  t.teardown(() => file.close());
  t.is(file.pragma('journal_mode', { simple: true }), 'wal');
  t.is(file.pragma('integrity_check', { simple: true }), 'ok');
  t.is((file.pragma('foreign_key_check') as unknown[]).length, 0);

  // The web host dials the internal-db again by itself, and serves reads and writes.
  await waitFor(
    async () => {
      const ready = await fetch(`${webUrl}/readyz`).catch(() => undefined);
      return ready !== undefined && ((await ready.json()) as { internalDb?: boolean }).internalDb === true;
    },
    20_000,
    () => `the web host to reconnect to the internal-db\n${tail(backbone.web)}\n${tail(restarted)}`,
  );
  const list = await api('GET', '/api/v1/customers');
  t.is(list.status, 200);
  const listed = new Set(((await list.json()) as { customers: { login: string }[] }).customers.map((c) => c.login));
  t.true(acked.customers.every((c) => listed.has(c)));
  const after = await api('POST', '/api/v1/customers', { login: 'after-restart', name: 'After', password: 'correct horse battery' });
  t.is(after.status, 201, await after.text());
});
