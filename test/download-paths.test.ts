import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { publish, startChain } from './helpers/chain.js';
import { rawGet } from './helpers/raw-http.js';

const run = promisify(execFile);

/**
 * A staged file has one download URL. The same path with a trailing slash, a trailing `.` or `..`,
 * an empty or a dot segment names no file: 404, even with the file's own valid ticket (before, a
 * trailing slash or `/.` was normalised away and the file was served).
 */
test("trailing slash, dot and empty segments on a file path are 404, with the file's own ticket", async (t) => {
  const chain = await startChain(t);
  const content = randomBytes(70_000);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  const { url, path } = staged.files[0]!;
  t.is(path, '/acme-db/1.0.0/acme-db-1.0.0.tar.gz');
  const port = chain.fileHost.httpAddress.port;
  const query = url.slice(url.indexOf('?'));

  const legit = await rawGet(port, `/files${path}${query}`);
  t.is(legit.status, 200, 'the file itself');
  t.true(legit.body.equals(content));

  const forms = [
    `${path}/`,
    `${path}//`,
    `${path}/.`,
    `${path}/./`,
    `${path}/..`,
    `${path}/../`,
    `${path}%2f`,
    `${path}%2F.`,
    `${path}/%2e`,
    `${path}/%2e%2e`,
    '/acme-db/1.0.0/./acme-db-1.0.0.tar.gz',
    '/acme-db/1.0.0//acme-db-1.0.0.tar.gz',
    '//acme-db/1.0.0/acme-db-1.0.0.tar.gz',
    '/acme-db/2.0.0/../1.0.0/acme-db-1.0.0.tar.gz',
    '/acme-db/1.0.0/%2e/acme-db-1.0.0.tar.gz',
  ];
  for (const form of forms) {
    const res = await rawGet(port, `/files${form}${query}`);
    t.is(res.status, 404, `GET /files${form}: ${res.body.toString('utf8').slice(0, 120)}`);
    t.false(res.body.includes(content.subarray(0, 64)), `GET /files${form}: no file bytes`);
  }

  // The same through curl: a trailing slash as a user would type it, and dot segments sent as they are.
  const status = async (...args: string[]) => (await run('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', ...args])).stdout;
  const base = url.slice(0, url.indexOf('/files/'));
  t.is(await status(url), '200');
  t.is(await status('-I', url), '200');
  t.is(await status(`${base}/files${path}/${query}`), '404', 'curl: trailing slash');
  t.is(await status('-I', `${base}/files${path}/${query}`), '404', 'curl -I: trailing slash');
  t.is(await status('--path-as-is', `${base}/files${path}/.${query}`), '404', 'curl: trailing /.');
  t.is(await status('--path-as-is', `${base}/files${path}/..${query}`), '404', 'curl: trailing /..');

  // The legitimate URL still works after all of that.
  t.is((await rawGet(port, `/files${path}${query}`)).status, 200);
});
