import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import * as FileHost from '../lib/contracts/file-host/operations.js';
import { startChain, waitFor, type Chain } from './helpers/chain.js';

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function objectFiles(chain: Chain): Promise<string[]> {
  const dir = join(chain.fileDir, 'repository', 'objects');
  const out: string[] = [];
  for (const prefix of await readdir(dir)) for (const name of await readdir(join(dir, prefix))) out.push(name);
  return out.sort();
}

const tmpFiles = (chain: Chain) => readdir(chain.fileHost.repo.tmpDir); // the host's own tmp/<name>/

function inboxRequest(chain: Chain, body: Record<string, unknown>) {
  const web = chain.web;
  return web.fileHosts.ask(web.fileHosts.pick(), FileHost.ingestInbox, body as never);
}

test('an upload streamed over the commlink is stored by its SHA-256, read-only, once', async (t) => {
  const chain = await startChain(t);
  const content = randomBytes(3 * 1024 * 1024 + 17);
  const reply = await chain.web.fulfillment.ingest(Readable.from([content.subarray(0, 1000), content.subarray(1000)]));
  t.is(reply.objectId, sha(content));
  t.is(reply.size, content.length);
  t.true(reply.created);
  const path = join(chain.fileDir, 'repository', 'objects', sha(content).slice(0, 2), sha(content));
  t.true((await readFile(path)).equals(content));
  t.is((await stat(path)).mode & 0o777, 0o444);
  const again = await chain.web.fulfillment.ingest(Readable.from([content]), { sha256: sha(content) });
  t.false(again.created);
  t.deepEqual(await objectFiles(chain), [sha(content)]);
  const info = await chain.web.fileHosts.ask(chain.web.fileHosts.pick(), FileHost.objectStat, { objectId: sha(content) });
  t.is(info.size, content.length);
  t.deepEqual(await tmpFiles(chain), []);
});

test('a failed upload leaves no partial object behind', async (t) => {
  const chain = await startChain(t);
  async function* failing() {
    yield randomBytes(1024 * 1024);
    yield randomBytes(1024 * 1024);
    throw new Error('client went away');
  }
  await t.throwsAsync(chain.web.fulfillment.ingest(Readable.from(failing())));
  const content = randomBytes(100_000);
  const wrongSize = await t.throwsAsync(chain.web.fulfillment.ingest(Readable.from([content]), { size: content.length - 1 }));
  t.is((wrongSize as { code?: string }).code, 'ERR_OBJECT_MISMATCH');
  const wrongHash = await t.throwsAsync(chain.web.fulfillment.ingest(Readable.from([content]), { sha256: 'b'.repeat(64) }));
  t.is((wrongHash as { code?: string }).code, 'ERR_OBJECT_MISMATCH');
  t.regex(wrongHash!.message, /nothing was stored/);
  // The aborted stream's temp file is removed once the abort has crossed to the file host.
  await waitFor(async () => (await tmpFiles(chain)).length === 0, 5000, 'the temp file of the aborted upload to be removed');
  t.deepEqual(await objectFiles(chain), []);
  t.deepEqual(await tmpFiles(chain), []);
});

test('a file in the vendor inbox is moved in and hashed in the worker pool; a mismatch puts it back', async (t) => {
  const chain = await startChain(t);
  const inbox = join(chain.fileDir, 'inbox');
  const content = randomBytes(2 * 1024 * 1024);
  await writeFile(join(inbox, 'acme-db-3.0.0.tar.gz'), content);
  const refused = await t.throwsAsync(inboxRequest(chain, { name: 'acme-db-3.0.0.tar.gz', sha256: 'c'.repeat(64) }));
  t.is((refused as { code?: string }).code, 'ERR_OBJECT_MISMATCH');
  t.true((await readFile(join(inbox, 'acme-db-3.0.0.tar.gz'))).equals(content), 'the refused file is back in the inbox, unchanged');
  t.deepEqual(await objectFiles(chain), []);

  const reply = await inboxRequest(chain, { name: 'acme-db-3.0.0.tar.gz', sha256: sha(content), size: content.length });
  t.is(reply.objectId, sha(content));
  t.deepEqual(await readdir(inbox), [], 'the inbox file was moved, not copied');
  t.deepEqual(await objectFiles(chain), [sha(content)]);

  for (const name of ['../repository/objects', 'a/b', '..', '']) {
    const err = await t.throwsAsync(inboxRequest(chain, { name }));
    t.is((err as { code?: string }).code, 'ERR_INVALID_INPUT', name);
  }
  const missing = await t.throwsAsync(inboxRequest(chain, { name: 'nothing-here' }));
  t.is((missing as { code?: string }).code, 'ERR_NOT_FOUND');
});
