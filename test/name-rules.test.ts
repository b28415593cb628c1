import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { fileName, fileNameProblem, text } from '../lib/contracts/names.js';
import { plainName } from '../services/ftp/common/areas.js';
import { normalizeVirtualPath } from '../services/ftp/common/path-resolver.js';
import { api, makeTokens } from './helpers/api.js';
import { startChain } from './helpers/chain.js';

/** File names at the edges of the rule: each is accepted or refused, the same way everywhere. */
const NAMES: [name: string, accepted: boolean][] = [
  ['acme-db-1.0.0.tar.gz', true],
  ['spaces and (parens) 1.zip', true],
  ['日本語の名前.zip', true],
  ['naïve café.msi', true],
  ['100%.txt', true],
  ['a%zz.bin', true],
  ['.hidden', true],
  ['x'.repeat(255), true],
  ['ü'.repeat(127), true], // 254 bytes
  ['a%41.bin', false], // an escape: decoded differently by different clients
  ['a%2e%2e', false],
  ['x'.repeat(256), false],
  ['ü'.repeat(128), false], // 256 bytes
  ['evil\u202Etxt.exe', false], // shown as "eviléxe.txt"-like: a right-to-left override
  ['zero\u200Bwidth.bin', false],
  ['isolate\u2066x\u2069.bin', false],
  ['bom\uFEFF.bin', false],
  ['soft\u00ADhyphen.bin', false],
  ['tab\there', false],
  ['nul\u0000byte', false],
  ['del\u007f', false],
  ['c1\u0085control', false],
  ['a/b', false],
  ['a\\b', false],
  ['.', false],
  ['..', false],
  ['', false],
];

/** What the file host's resolver makes of a name as one path segment: served as it is, or not at all. */
function resolverServes(name: string): boolean {
  try {
    return normalizeVirtualPath(`/acme/1.0.0/${name}`, { clamp: false }) === `/acme/1.0.0/${name}`;
  } catch {
    return false;
  }
}

function fileHostAccepts(name: string): boolean {
  try {
    plainName(name, 'filename');
    return true;
  } catch {
    return false;
  }
}

test('one file-name rule: the API, the internal-db, the file host and its path resolver accept exactly the same names', (t) => {
  for (const [name, accepted] of NAMES) {
    const label = JSON.stringify(name).slice(0, 60);
    t.is(fileName.safeParse(name).success, accepted, `contract: ${label}`);
    t.is(fileNameProblem(name) === undefined, accepted, `rule: ${label}`);
    t.is(fileHostAccepts(name), accepted, `file host: ${label}`);
    if (accepted) t.true(resolverServes(name), `resolver serves ${label}`);
  }
});

test('names people read refuse invisible and bidirectional-control characters', (t) => {
  const vendorName = text(128);
  t.true(vendorName.safeParse('Acme Software GmbH & Co. KG').success);
  t.true(vendorName.safeParse('株式会社アクメ').success);
  for (const bad of ['Acme\u202Eerawtfos', 'Ac\u200Bme', '\u2067Acme\u2069', 'Acme\u0000', 'Acme\nInc'])
    t.false(vendorName.safeParse(bad).success, JSON.stringify(bad));
});

test('through the real chain: a name the API takes is staged and downloaded; one it refuses stores nothing', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  await chain.call('vendor.create', { name: 'Acme Software' });
  await chain.call('product.create', { vendor: 'Acme Software', code: 'acme-db', name: 'Acme DB' });
  await chain.call('release.create', { product: 'acme-db', version: '1.0.0' });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const tokens = await makeTokens(chain);
  const upload = (name: string, body: Buffer) =>
    api(chain, 'PUT', `/api/v1/products/acme-db/releases/1.0.0/artifacts/${encodeURIComponent(name)}`, { token: tokens.vendor, body });
  const kept: { name: string; sha256: string }[] = [];
  for (const [name, accepted] of NAMES.filter(([n]) => n !== '' && n !== '.' && n !== '..')) {
    const body = randomBytes(64);
    const answer = await upload(name, body);
    const label = JSON.stringify(name).slice(0, 60);
    if (accepted) {
      t.is(answer.status, 201, `${label}: ${answer.text}`);
      kept.push({ name, sha256: createHash('sha256').update(body).digest('hex') });
    } else {
      t.is(answer.status, 400, `${label}: ${answer.text}`);
      t.is((answer.body.error as { field?: string }).field, 'path.filename', label);
    }
  }
  t.is((await api(chain, 'POST', '/api/v1/products/acme-db/releases/1.0.0/publish', { token: tokens.vendor })).status, 200);
  // Every accepted name stages (the file host takes it) and downloads byte-exact over HTTP.
  const staged = await api(chain, 'POST', '/api/v1/stagings', { token: tokens.customer, json: { product: 'acme-db', version: '1.0.0' } });
  t.is(staged.status, 201, staged.text);
  const files = staged.body.files as { filename: string; url: string; sha256: string }[];
  t.deepEqual(files.map((f) => f.filename).sort(), kept.map((k) => k.name).sort());
  for (const file of files) {
    const res = await fetch(file.url);
    t.is(res.status, 200, file.filename);
    t.is(
      createHash('sha256')
        .update(Buffer.from(await res.arrayBuffer()))
        .digest('hex'),
      file.sha256,
      file.filename,
    );
  }
});
