/**
 * Stock clients over HTTP (curl, wget, aria2c): each downloads the 300 MiB release file whole, then
 * is killed part way through a throttled download and resumes it; the SHA-256 of what it saved is
 * the published file's.
 */
import anyTest, { type TestFn } from 'ava';
import { join } from 'node:path';
import { assertExit0, assertWhole, killPartWay, runClient, sizeOf, startMatrix, workDir, type Matrix } from './helpers/clients.js';

const test = anyTest as TestFn<Matrix>;

test.before(async (t) => {
  t.context = await startMatrix();
});
test.after.always(async (t) => {
  await t.context?.close();
});

test.serial('curl: whole download, then killed part way and resumed with -C -', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const file = join(dir, m.filename);
  assertExit0(t, await runClient('curl', ['-sS', '--fail', '-o', file, m.url]), 'curl');
  await assertWhole(t, m, file, 'curl');

  const part = join(dir, 'part');
  await killPartWay(t, m, 'curl', ['-sS', '--fail', '--limit-rate', '20M', '-o', part, m.url], part);
  assertExit0(t, await runClient('curl', ['-sS', '--fail', '-C', '-', '-o', part, m.url]), 'curl -C -');
  await assertWhole(t, m, part, 'curl -C -');
});

test.serial('wget: whole download, then killed part way and resumed with -c', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const file = join(dir, m.filename);
  assertExit0(t, await runClient('wget', ['-q', '-O', file, m.url]), 'wget');
  await assertWhole(t, m, file, 'wget');

  const part = join(dir, 'part');
  await killPartWay(t, m, 'wget', ['-q', '--limit-rate=20m', '-O', part, m.url], part);
  const resumed = await runClient('wget', ['-c', '-O', part, m.url]);
  assertExit0(t, resumed, 'wget -c');
  t.regex(resumed.stderr, /206 Partial Content/, 'wget asked for the rest only');
  await assertWhole(t, m, part, 'wget -c');
});

test.serial('aria2c: whole download in 4 parallel segments, then killed part way and resumed with -c', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const common = ['--no-conf', '--quiet', '--file-allocation=none', '--check-certificate=false', '--dir', dir];
  assertExit0(t, await runClient('aria2c', [...common, '-x4', '-s4', '--min-split-size=20M', '-o', 'whole', m.url]), 'aria2c -x4 -s4');
  await assertWhole(t, m, join(dir, 'whole'), 'aria2c -x4 -s4');

  // Throttled, its control file saved every second; killed once that file and some MiB are there.
  const part = join(dir, 'part');
  const throttled = [...common, '-x4', '-s4', '--min-split-size=20M', '--max-overall-download-limit=20M', '--auto-save-interval=1', '-o', 'part', m.url];
  await killPartWay(t, m, 'aria2c', throttled, part, { ready: async () => (await sizeOf(`${part}.aria2`)) > 0 });
  assertExit0(t, await runClient('aria2c', [...common, '-c', '-x4', '-s4', '--min-split-size=20M', '-o', 'part', m.url]), 'aria2c -c');
  await assertWhole(t, m, part, 'aria2c -c');
  t.is(await sizeOf(`${part}.aria2`), 0, 'the control file is gone: aria2c finished the download');
});
