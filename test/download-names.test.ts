import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parse } from 'content-disposition';
import { asciiFallback, downloadDisposition } from '../services/ftp/http/download-name.js';
import { launchChromium } from './helpers/browser.js';
import { publish, startChain } from './helpers/chain.js';

const run = promisify(execFile);

/** The names under test: diacritics, letters NFKD keeps whole, a script with no ASCII reading, and a plain name. */
const UMLAUTS = 'Übersicht-Ä.tar.gz';
const CJK = '製品.zip';
const SPELLED = 'Straße-Øresund.tar.gz';
const PLAIN = 'acme db 1.0.0 (x64).tar.gz';

test('the ASCII fallback is readable: diacritics stripped, letters spelled out, other scripts `_` or `download`', (t) => {
  t.is(asciiFallback(UMLAUTS), 'Ubersicht-A.tar.gz');
  t.is(asciiFallback(CJK), 'download.zip');
  t.is(asciiFallback('製品.tar.gz'), 'download.tar.gz');
  t.is(asciiFallback('製品'), 'download');
  t.is(asciiFallback('Daten-製品-v2.zip'), 'Daten-_-v2.zip');
  t.is(asciiFallback(SPELLED), 'Strasse-Oresund.tar.gz');
  t.is(asciiFallback('ｆｕｌｌｗｉｄｔｈ.txt'), 'fullwidth.txt', 'compatibility forms fold to ASCII');
  t.is(asciiFallback('café crème.pdf'), 'cafe creme.pdf');
  t.is(asciiFallback('naïve 😀 build.zip'), 'naive _ build.zip');
  t.is(asciiFallback(PLAIN), PLAIN, 'an ASCII name is its own fallback');
  for (const name of [UMLAUTS, CJK, SPELLED, 'Ωμέγα.iso', 'файл.deb']) t.regex(asciiFallback(name), /^[\x20-\x7e]+$/, name);
});

test('Content-Disposition carries the fallback and the UTF-8 name (RFC 6266 / 8187); an ASCII name only filename', (t) => {
  t.is(downloadDisposition(UMLAUTS), `attachment; filename=Ubersicht-A.tar.gz; filename*=UTF-8''%C3%9Cbersicht-%C3%84.tar.gz`);
  t.is(downloadDisposition(CJK), `attachment; filename=download.zip; filename*=UTF-8''%E8%A3%BD%E5%93%81.zip`);
  t.is(downloadDisposition(PLAIN), `attachment; filename="${PLAIN}"`);
  for (const name of [UMLAUTS, CJK, SPELLED, PLAIN, 'a "quoted" name ü.txt']) {
    const { type, parameters } = parse(downloadDisposition(name));
    t.is(type, 'attachment');
    t.is(parameters.filename, name, `${name}: the extended parameter decodes to the name`);
  }
});

interface Served {
  name: string;
  url: string;
  content: Buffer;
}

/** The chain with one release per name, all staged for globex; each file's signed URL. */
async function serveNames(t: ExecutionContext, names: readonly string[]): Promise<Served[]> {
  const chain = await startChain(t);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  const served: Served[] = [];
  for (const [n, name] of names.entries()) {
    const version = `1.0.${n}`;
    const content = randomBytes(10_000 + n);
    await publish(chain, version, content, name);
    if (n === 0) await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    const staged = await chain.web.fulfillment.stage('globex', 'acme-db', version);
    served.push({ name, url: staged.files[0]!.url, content });
  }
  return served;
}

/** A fresh empty directory for one client's download. */
async function emptyDir(t: ExecutionContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-names-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** The one file a client saved in `dir`, and checks its bytes. */
async function savedName(t: ExecutionContext, dir: string, content: Buffer): Promise<string> {
  const files = await readdir(dir);
  t.is(files.length, 1, `one file saved: ${files.join(', ')}`);
  t.true((await readFile(join(dir, files[0]!))).equals(content), 'the saved bytes are the file');
  return files[0]!;
}

// What each client saves a file as, with the names under test. curl reads only `filename` (it
// ignores `filename*`), so it saves under the readable fallback; wget, aria2c and Chromium read
// `filename*` and save under the UTF-8 name.
const NAMES = [UMLAUTS, CJK, SPELLED, PLAIN];
const FALLBACKS = ['Ubersicht-A.tar.gz', 'download.zip', 'Strasse-Oresund.tar.gz', PLAIN];

test('curl -J -O saves under the readable fallback; wget --content-disposition and aria2c under the UTF-8 name', async (t) => {
  const served = await serveNames(t, NAMES);
  for (const [n, { name, url, content }] of served.entries()) {
    t.is((await fetch(url, { method: 'HEAD' })).headers.get('content-disposition'), downloadDisposition(name), `the header for ${name}`);
    const curlDir = await emptyDir(t);
    await run('curl', ['-sS', '-f', '-J', '-O', url], { cwd: curlDir });
    t.is(await savedName(t, curlDir, content), FALLBACKS[n], `curl -J -O: ${name}`);

    const wgetDir = await emptyDir(t);
    await run('wget', ['-q', '--content-disposition', url], { cwd: wgetDir });
    t.is(await savedName(t, wgetDir, content), name, `wget --content-disposition: ${name}`);

    const aria2Dir = await emptyDir(t);
    await run('aria2c', ['-q', '--allow-overwrite=true', '--auto-file-renaming=false', '-d', aria2Dir, url]);
    t.is(await savedName(t, aria2Dir, content), name, `aria2c: ${name}`);
  }
});

test('headless Chromium suggests the UTF-8 name', async (t) => {
  const browser = await launchChromium(t);
  const served = await serveNames(t, [UMLAUTS, CJK]);
  const context = await browser.newContext({ acceptDownloads: true });
  t.teardown(() => context.close());
  const page = await context.newPage();
  for (const { name, url, content } of served) {
    const started = page.waitForEvent('download');
    await page.goto(url).catch(() => undefined); // a download is not a page: goto rejects ("Download is starting")
    const download = await started;
    t.is(download.suggestedFilename(), name);
    t.true((await readFile(await download.path())).equals(content));
  }
});
