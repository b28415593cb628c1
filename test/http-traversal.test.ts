import test from 'ava';
import { randomBytes } from 'node:crypto';
import { lstat, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TicketSigner } from '../lib/tickets/index.js';
import { publish, startChain, ticketKeys } from './helpers/chain.js';
import { rawGet } from './helpers/raw-http.js';

/**
 * Path traversal against the file host's HTTP downloads, with request targets written byte for
 * byte (no client-side URL handling). Every payload must be refused (400/403/404, or 414/431 for a
 * huge request) or, when it merely normalises to the legitimate path, answered with exactly the
 * legitimately staged bytes; no answer may ever carry the secret outside the areas nor another
 * customer's file.
 */

interface Payload {
  name: string;
  target: string;
  /** When set, the only acceptable status (used where the ticket passes and only the resolver can refuse). */
  expect?: number;
}

const REFUSED = new Set([400, 403, 404, 414, 431]);

test('HTTP downloads refuse path traversal, encoding tricks and symlinks out of the area', async (t) => {
  const chain = await startChain(t);
  const content = randomBytes(100_000);
  const initechContent = randomBytes(100_000);
  await publish(chain, '1.0.0', content);
  await publish(chain, '2.0.0', initechContent);

  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  const legitPath = staged.files[0]!.path;
  t.is(legitPath, '/acme-db/1.0.0/acme-db-1.0.0.tar.gz');

  await chain.call('customer.create', { login: 'initech', name: 'Initech', password: 'correct horse battery' });
  await chain.call('entitlement.grant', { customer: 'initech', product: 'acme-db' });
  const initechStaged = await chain.web.fulfillment.stage('initech', 'acme-db', '2.0.0');
  const initechPath = initechStaged.files[0]!.path;
  t.is(initechPath, '/acme-db/2.0.0/acme-db-2.0.0.tar.gz');

  const { fileDir } = chain;
  const areas = join(fileDir, 'areas');
  const globexArea = join(areas, 'globex');
  const initechArea = join(areas, 'initech');

  // Secrets outside the areas (at two depths) and a private file in the other customer's area.
  const secretMarker = `SECRET-${randomBytes(12).toString('hex')}`;
  const initechMarker = `INITECH-PRIVATE-${randomBytes(12).toString('hex')}`;
  await writeFile(join(fileDir, 'secret.txt'), `${secretMarker}\n`);
  await writeFile(join(areas, 'secret.txt'), `${secretMarker}\n`);
  await writeFile(join(initechArea, 'acme-db', '2.0.0', 'private.txt'), `${initechMarker}\n`);

  // Symlinks planted inside globex's area leading out of it …
  await symlink(join(fileDir, 'secret.txt'), join(globexArea, 'acme-db', '1.0.0', 'escape'));
  await symlink(fileDir, join(globexArea, 'acme-db', 'linkdir'));
  await symlink(join('..', '..', '..', 'initech', 'acme-db', '2.0.0', 'acme-db-2.0.0.tar.gz'), join(globexArea, 'acme-db', '1.0.0', 'up'));
  await symlink(initechArea, join(globexArea, 'acme-db', 'neighbour'));
  await symlink('loop', join(globexArea, 'acme-db', '1.0.0', 'loop'));
  // … and, as controls, symlinks that stay inside it (these must be served).
  await symlink('acme-db-1.0.0.tar.gz', join(globexArea, 'acme-db', '1.0.0', 'inside'));
  await symlink('1.0.0', join(globexArea, 'acme-db', 'insidedir'));
  t.true((await lstat(join(globexArea, 'acme-db', '1.0.0', 'escape'))).isSymbolicLink());
  t.true((await lstat(join(globexArea, 'acme-db', 'linkdir'))).isSymbolicLink());

  const port = chain.fileHost.httpAddress.port;
  const ticketOf = (url: string): string => {
    const ticket = new URL(url).searchParams.get('ticket');
    if (!ticket) throw new Error(`no ticket in ${url}`);
    return ticket;
  };
  const ticket = ticketOf(staged.files[0]!.url);
  const signer = new TicketSigner(ticketKeys().privateKeyPem); // the web host's key, signing what the web host would
  const signed = (path: string, customer = 'globex'): string => signer.sign({ customer, path, expiresAt: Date.now() + 300_000 });
  const T = `?ticket=${ticket}`;
  const legitTarget = `/files${legitPath}${T}`;

  const isLegit = (status: number, body: Buffer) => status === 200 && body.equals(content);

  // Sanity: the raw client fetches the legitimate file, and in-area symlinks are followed (so a 404
  // for the escaping ones below is the containment check, not a broken setup).
  {
    const res = await rawGet(port, legitTarget);
    t.is(res.status, 200, 'legit download through rawGet');
    t.true(res.body.equals(content), 'legit download through rawGet: bytes');
    const inside = await rawGet(port, `/files/acme-db/1.0.0/inside?ticket=${signed('/acme-db/1.0.0/inside')}`);
    t.true(isLegit(inside.status, inside.body), `in-area file symlink is served (got ${inside.status})`);
    const insideDir = await rawGet(port, `/files/acme-db/insidedir/acme-db-1.0.0.tar.gz?ticket=${signed('/acme-db/insidedir/acme-db-1.0.0.tar.gz')}`);
    t.true(isLegit(insideDir.status, insideDir.body), `in-area directory symlink is served (got ${insideDir.status})`);
  }

  const payloads: Payload[] = [];
  const add = (name: string, target: string, expect?: number) => payloads.push(expect === undefined ? { name, target } : { name, target, expect });

  // 1. Plain `..` at many depths, towards the secret, /etc/passwd and the other customer.
  for (let depth = 1; depth <= 10; depth++) add(`dotdot x${depth} secret`, `/files/${'../'.repeat(depth)}secret.txt${T}`);
  for (const depth of [3, 6, 12]) add(`dotdot x${depth} etc/passwd`, `/files/${'../'.repeat(depth)}etc/passwd${T}`);
  add('dotdot no slash before', `/files..${T}`);
  add('dotdot bare', `/files/..${T}`);

  // 2. `..` mixed with valid prefixes.
  for (let depth = 2; depth <= 6; depth++) add(`prefix acme-db/1.0.0 + dotdot x${depth}`, `/files/acme-db/1.0.0/${'../'.repeat(depth)}secret.txt${T}`);
  add('prefix file/../..', `/files${legitPath}/../../../../secret.txt${T}`);
  add('prefix then back to legit then out', `/files/acme-db/1.0.0/../1.0.0/../../../secret.txt${T}`);
  add('legit path with trailing /..', `/files${legitPath}/..${T}`);
  add('legit via detour (normalises to legit)', `/files/acme-db/1.0.0/../1.0.0/acme-db-1.0.0.tar.gz${T}`);

  // 3. Percent-encoded dots and separators (decoded once, then normalised).
  for (const depth of [1, 2, 4, 8]) add(`%2e%2e/ x${depth}`, `/files/${'%2e%2e/'.repeat(depth)}secret.txt${T}`);
  add('%2E%2E%2F x2', `/files/%2E%2E%2F%2E%2E%2Fsecret.txt${T}`);
  add('%2e%2e%2f x6 etc/passwd', `/files/${'%2e%2e%2f'.repeat(6)}etc%2fpasswd${T}`);
  add('..%2f x2', `/files/..%2f..%2fsecret.txt${T}`);
  add('..%2f x4 etc/passwd', `/files/..%2f..%2f..%2f..%2fetc/passwd${T}`);
  add('.%2e/ x2', `/files/.%2e/.%2e/secret.txt${T}`);
  add('%2e./ x2', `/files/%2e./%2e./secret.txt${T}`);
  add('%2e%2e%5c x2', `/files/%2e%2e%5c%2e%2e%5csecret.txt${T}`);
  add('..%5c x2', `/files/..%5c..%5csecret.txt${T}`);
  add('%5c..%5c', `/files/acme-db%5c..%5c..%5c..%5csecret.txt${T}`);
  add('%2e%2e/ to legit (normalises to legit)', `/files/acme-db/%2e%2e/acme-db/1.0.0/acme-db-1.0.0.tar.gz${T}`);

  // 4. Double encoding: a residual escape after one decode is refused.
  add('%252e%252e%252f x2', `/files/%252e%252e%252f%252e%252e%252fsecret.txt${T}`);
  add('..%252f x2', `/files/..%252f..%252fsecret.txt${T}`);
  add('%252e%252e/ x2', `/files/%252e%252e/%252e%252e/secret.txt${T}`);
  add('%25%32%65 (encoded %2e)', `/files/%25%32%65%25%32%65/secret.txt${T}`);
  add('%255c', `/files/..%255c..%255csecret.txt${T}`);
  add('triple %25252e', `/files/%25252e%25252e/secret.txt${T}`);
  add('legit name double-encoded', `/files/acme-db/1.0.0/acme-db-1.0.0%252etar.gz${T}`);

  // 5. Overlong / invalid UTF-8 and malformed escapes.
  add('overlong %c0%ae%c0%ae/', `/files/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt${T}`);
  add('overlong ..%c0%af', `/files/..%c0%af..%c0%afsecret.txt${T}`);
  add('overlong %c0%ae%c0%ae%c0%af', `/files/%c0%ae%c0%ae%c0%af%c0%ae%c0%ae%c0%afsecret.txt${T}`);
  add('overlong 3-byte %e0%80%ae', `/files/%e0%80%ae%e0%80%ae/secret.txt${T}`);
  add('overlong 4-byte %f0%80%80%ae', `/files/%f0%80%80%ae%f0%80%80%ae/secret.txt${T}`);
  add('overlong backslash %c1%9c', `/files/..%c1%9c..%c1%9csecret.txt${T}`);
  add('overlong slash %c0%2f', `/files/..%c0%2f..%c0%2fsecret.txt${T}`);
  add('encoded surrogate %ed%a0%80', `/files/%ed%a0%80/../../secret.txt${T}`);
  add('IIS %u002e', `/files/%u002e%u002e/secret.txt${T}`);
  add('lone %', `/files/%/../../secret.txt${T}`);
  add('bad hex %zz', `/files/%zz/../secret.txt${T}`);
  add('truncated %2', `/files/..%2${T}`);

  // 6. Backslashes, raw and encoded.
  add('raw ..\\..\\', `/files/..\\..\\secret.txt${T}`);
  add('raw backslash after prefix', `/files/acme-db\\..\\..\\..\\secret.txt${T}`);
  add('raw backslash mixed', `/files/acme-db/1.0.0/..\\..\\..\\..\\etc\\passwd${T}`);
  add('%5c separators only', `/files/acme-db%5c1.0.0%5cacme-db-1.0.0.tar.gz${T}`);
  add('fullwidth backslash %ef%bc%bc', `/files/..%ef%bc%bc..%ef%bc%bcsecret.txt${T}`);

  // 7. NUL and other control characters.
  add('%00 alone', `/files/%00${T}`);
  add('legit name + %00.txt', `/files${legitPath}%00.txt${T}`);
  add('file%00.txt', `/files/acme-db/1.0.0/file%00.txt${T}`);
  add('traversal then %00', `/files/../../secret.txt%00${T}`);
  add('%00 then traversal', `/files/%00/../../secret.txt${T}`);
  add('%00 before legit name', `/files/acme-db/1.0.0/%00acme-db-1.0.0.tar.gz${T}`);
  add('%0a newline', `/files/acme-db/1.0.0/acme-db-1.0.0.tar.gz%0a${T}`);
  add('%0d%0a header injection', `/files${legitPath}%0d%0aX-Injected:%20yes${T}`);
  add('%09 tab', `/files/..%09/..%09/secret.txt${T}`);
  add('%7f DEL', `/files/acme-db/1.0.0/%7f${T}`);
  add('%1f unit separator', `/files/..%1f/secret.txt${T}`);
  add('raw NUL byte', `/files/..\u0000/../secret.txt${T}`);
  add('raw tab byte', `/files/..\t/../secret.txt${T}`);
  add('raw DEL byte', `/files/\u007f/../../secret.txt${T}`);

  // 8. Absolute paths and odd request-target forms.
  add('/files//etc/passwd', `/files//etc/passwd${T}`);
  add('/files/%2fetc%2fpasswd', `/files/%2fetc%2fpasswd${T}`);
  add('/files/%2f..%2f..%2fsecret', `/files/%2f..%2f..%2fsecret.txt${T}`);
  add('/files///../secret', `/files///../secret.txt${T}`);
  add('absolute temp path raw', `/files/${join(fileDir, 'secret.txt')}${T}`);
  add('absolute temp path encoded', `/files/${encodeURIComponent(join(fileDir, 'secret.txt'))}${T}`);
  add('file:// in path', `/files/file:%2f%2f%2fetc%2fpasswd${T}`);
  add('absolute-form target', `http://127.0.0.1:${port}/files/../../secret.txt${T}`);
  add('absolute-form target legit then out', `http://127.0.0.1:${port}/files/acme-db/../../../secret.txt${T}`);
  add('asterisk-form', '*');
  add('double slash before files', `//files/../../secret.txt${T}`);
  add('dot segment before files', `/./files/../../secret.txt${T}`);
  add('dotdot before files', `/../files/acme-db/1.0.0/acme-db-1.0.0.tar.gz${T}`);
  add('upper-case prefix', `/FILES/../../secret.txt${T}`);
  add('encoded prefix slash', `/files%2f..%2f..%2fsecret.txt${T}`);
  add('prefix without slash', `/files../secret.txt${T}`);

  // 9. The other customer's area.
  add('dotdot to initech file', `/files/../initech${initechPath}${T}`);
  add('prefix + dotdot to initech file', `/files/acme-db/1.0.0/../../../initech${initechPath}${T}`);
  add('%2e%2e to initech file', `/files/%2e%2e/initech${initechPath}${T}`);
  add('..%2f to initech private', `/files/..%2finitech%2facme-db%2f2.0.0%2fprivate.txt${T}`);
  add('initech path directly with globex ticket', `/files${initechPath}${T}`);
  add('initech private directly with globex ticket', `/files/acme-db/2.0.0/private.txt${T}`);
  add('globex ticket signed for initech path', `/files${initechPath}?ticket=${signed(initechPath)}`, 404);
  add('globex ticket signed for ../initech path', `/files/../initech${initechPath}?ticket=${signed(`/../initech${initechPath}`)}`);

  // 10. Dot-segment variants and `;` tricks.
  add('/./ segments (normalises to legit)', `/files/./acme-db/./1.0.0/./acme-db-1.0.0.tar.gz${T}`);
  add('/./ then out', `/files/acme-db/1.0.0/./../../.././secret.txt${T}`);
  add('....// x2', `/files/....//....//secret.txt${T}`);
  add('.../ x2', `/files/.../.../secret.txt${T}`);
  add('...%2f', `/files/...%2f...%2fsecret.txt${T}`);
  add('. .. mix', `/files/.././.././secret.txt${T}`);
  add('..;/ x2', `/files/..;/..;/secret.txt${T}`);
  add('acme-db;/../..', `/files/acme-db;/../../secret.txt${T}`);
  add('legit;../..', `/files${legitPath};/../../../../secret.txt${T}`);
  add('%2e%2e%3b/', `/files/%2e%2e%3b/%2e%2e%3b/secret.txt${T}`);
  add('..;jsessionid', `/files/..;jsessionid=x/..;jsessionid=x/secret.txt${T}`);
  add('trailing dot (normalises to legit)', `/files${legitPath}/.${T}`);
  add('trailing space encoded', `/files${legitPath}%20${T}`);

  // 11. Over-long names and paths.
  add('name of 300 chars', `/files/acme-db/1.0.0/${'a'.repeat(300)}${T}`);
  add('name of 300 dots', `/files/${'.'.repeat(300)}/secret.txt${T}`);
  add('name 150 x euro (450 bytes)', `/files/acme-db/${encodeURIComponent('€'.repeat(150))}${T}`);
  add('name of 255 chars (allowed, wrong file)', `/files/acme-db/1.0.0/${'a'.repeat(255)}${T}`);
  add('path of 5000 chars', `/files/${'a/'.repeat(2500)}${T}`);
  add('path of 5000 chars of ../', `/files/${'../'.repeat(1667)}secret.txt${T}`);
  add('path of 5000 chars ending in legit', `/files${'/.'.repeat(2500)}${legitPath}${T}`);
  add('request line of 20000 chars', `/files/${'../'.repeat(6667)}secret.txt${T}`);

  // 12. Unicode lookalikes.
  add('fullwidth dots %ef%bc%8e%ef%bc%8e/', `/files/%ef%bc%8e%ef%bc%8e/%ef%bc%8e%ef%bc%8e/secret.txt${T}`);
  add('fullwidth dots and solidus', `/files/%ef%bc%8e%ef%bc%8e%ef%bc%8f%ef%bc%8e%ef%bc%8e%ef%bc%8fsecret.txt${T}`);
  add('one-dot leader U+2024', `/files/%e2%80%a4%e2%80%a4/%e2%80%a4%e2%80%a4/secret.txt${T}`);
  add('two-dot leader U+2025', `/files/%e2%80%a5/%e2%80%a5/secret.txt${T}`);
  add('division slash U+2215', `/files/..%e2%88%95..%e2%88%95secret.txt${T}`);
  add('fraction slash U+2044', `/files/..%e2%81%84..%e2%81%84secret.txt${T}`);
  add('raw UTF-8 fullwidth dots', `/files/\xef\xbc\x8e\xef\xbc\x8e/\xef\xbc\x8e\xef\xbc\x8e/secret.txt${T}`);
  add('raw latin1 bytes', `/files/\xc0\xae\xc0\xae/secret.txt${T}`);

  // 13. Planted symlinks, each with a ticket signed for exactly that path (only the resolver refuses).
  const symlinkCases: [string, string][] = [
    ['symlink file to secret', '/acme-db/1.0.0/escape'],
    ['symlinked dir: secret', '/acme-db/linkdir/secret.txt'],
    ['symlinked dir: areas/secret', '/acme-db/linkdir/areas/secret.txt'],
    ['symlinked dir: initech file', `/acme-db/linkdir/areas/initech${initechPath}`],
    ['symlinked dir: initech private', '/acme-db/linkdir/areas/initech/acme-db/2.0.0/private.txt'],
    ['symlinked dir itself', '/acme-db/linkdir'],
    ['relative symlink to initech file', '/acme-db/1.0.0/up'],
    ['symlinked dir to initech area', `/acme-db/neighbour${initechPath}`],
    ['symlink loop', '/acme-db/1.0.0/loop'],
    ['ticket for a directory', '/acme-db/1.0.0'],
    ['ticket for the area root', '/'],
    ['ticket for /etc/passwd', '/etc/passwd'],
    ['ticket for a missing file', '/acme-db/1.0.0/missing.tar.gz'],
  ];
  for (const [name, path] of symlinkCases) {
    const encoded = path.split('/').map(encodeURIComponent).join('/');
    add(name, `/files${encoded}?ticket=${signed(path)}`, 404);
  }
  // Resolves back inside globex's own area: may be served (own bytes) or refused, never anything else.
  add('symlinked dir: own file via outside', `/files/acme-db/linkdir/areas/globex${legitPath}?ticket=${signed(`/acme-db/linkdir/areas/globex${legitPath}`)}`);
  add('symlink file, name percent-encoded', `/files/acme-db/1.0.0/%65scape?ticket=${signed('/acme-db/1.0.0/escape')}`, 404);
  add('symlinked dir, via dot segments', `/files/acme-db/1.0.0/../linkdir/./secret.txt?ticket=${signed('/acme-db/linkdir/secret.txt')}`, 404);
  add('ticket for customer with no area', `/files/acme-db/1.0.0/acme-db-1.0.0.tar.gz?ticket=${signed(legitPath, 'hooli')}`, 404);
  add('ticket signed for a non-normalised path', `/files/../secret.txt?ticket=${signed('/../secret.txt')}`);
  add('ticket signed for a non-normalised path, normalised request', `/files/secret.txt?ticket=${signed('/../secret.txt')}`, 403);

  // 14. Query-string tricks and ticket games.
  add('query: extra path param', `/files/../../secret.txt${T}&path=../../secret.txt`);
  add('query: legit path + path param', `${legitTarget}&path=../../secret.txt`);
  add('query: path param first', `/files/../../secret.txt?path=../../secret.txt&ticket=${ticket}`);
  add('query: legit ticket twice', `/files/../../secret.txt${T}&ticket=${ticket}`);
  add('query: bad ticket first', `/files${legitPath}?ticket=v1.AAAA.BBBB&ticket=${ticket}`, 403);
  add('query: fragment with traversal', `/files${legitPath}${T}#/../../secret.txt`);
  add('query: encoded question mark', `/files${legitPath}%3fticket=${ticket}`, 403);
  add('query: encoded ? then traversal', `/files/..%3f/../../secret.txt${T}`);
  add('query: traversal inside ticket value', `/files${legitPath}?ticket=../../secret.txt`, 403);
  add('query: no ticket', `/files/../../secret.txt`, 403);
  add('query: ticket[]', `/files/../../secret.txt?ticket[]=${ticket}`, 403);
  add('query: encoded ticket name', `/files/../../secret.txt?%74icket=${ticket}`);
  add('query: tampered ticket', `/files${legitPath}?ticket=${ticket.slice(0, -4)}AAAA`, 403);
  add('query: ticket with traversal appended', `/files${legitPath}?ticket=${ticket}/../../secret.txt`, 403);
  add('query: double ?', `/files/../../secret.txt??ticket=${ticket}`);

  const names = new Set(payloads.map((p) => p.name));
  t.is(names.size, payloads.length, 'payload names are unique');
  t.true(payloads.length >= 50, `at least 50 payloads (have ${payloads.length})`);

  const secretBytes = Buffer.from(secretMarker);
  const initechMarkerBytes = Buffer.from(initechMarker);
  const initechSample = initechContent.subarray(0, 64);
  for (const { name, target, expect } of payloads) {
    let res: Awaited<ReturnType<typeof rawGet>>;
    try {
      res = await rawGet(port, target);
    } catch (err) {
      t.fail(`${name}: no HTTP answer: ${(err as Error).message}`);
      continue;
    }
    const { status, body } = res;
    t.false(body.includes(secretBytes), `${name}: the body leaks the secret marker (status ${status})`);
    t.false(body.includes(initechMarkerBytes), `${name}: the body leaks initech's private file (status ${status})`);
    t.false(body.includes(initechSample), `${name}: the body leaks initech's staged file (status ${status})`);
    if (status === 200 || status === 206) {
      t.true(body.equals(content), `${name}: status ${status} with a body that is not the legitimately staged file (${body.length} bytes)`);
    } else if (expect !== undefined) {
      t.is(status, expect, `${name}: expected ${expect}, got ${status}: ${body.toString('utf8').slice(0, 200)}`);
    } else {
      t.true(REFUSED.has(status), `${name}: unexpected status ${status}: ${body.toString('utf8').slice(0, 200)}`);
    }
  }

  // The server still works after all of that.
  const after = await fetch(staged.files[0]!.url);
  t.is(after.status, 200, 'legit URL after the suite');
  t.true(Buffer.from(await after.arrayBuffer()).equals(content), 'legit URL after the suite: bytes');
  const afterRaw = await rawGet(port, legitTarget);
  t.true(isLegit(afterRaw.status, afterRaw.body), `legit raw request after the suite (got ${afterRaw.status})`);
});
