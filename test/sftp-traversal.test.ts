import test from 'ava';
import { randomBytes } from 'node:crypto';
import { mkdir, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { SFTPWrapper } from 'ssh2';
import { publish, startChain } from './helpers/chain.js';
import { sftpConnect } from './helpers/sftp.js';
import { generateEd25519 } from '../lib/ssh-keys.js';

const hostKey = generateEd25519().private;

/** Every outcome of trying a path: an error code, or what came back. */
async function attempt(sftp: SFTPWrapper, path: string): Promise<{ stat: number | string; read: Buffer | number; list: string[] | number }> {
  const stat = await new Promise<number | string>((resolve) =>
    sftp.stat(path, (err, attrs) => resolve(err ? ((err as { code?: number }).code ?? -1) : `size ${attrs.size}`)),
  );
  const read = await new Promise<Buffer | number>((resolve) =>
    sftp.open(path, 'r', (err, handle) => {
      if (err) return resolve((err as { code?: number }).code ?? -1);
      const buffer = Buffer.alloc(64 * 1024);
      sftp.read(handle, buffer, 0, buffer.length, 0, (readErr, n) => {
        sftp.close(handle, () => resolve(readErr ? ((readErr as { code?: number }).code ?? -1) : buffer.subarray(0, n)));
      });
    }),
  );
  const list = await new Promise<string[] | number>((resolve) =>
    sftp.readdir(path, (err, entries) => resolve(err ? ((err as { code?: number }).code ?? -1) : entries.map((e) => e.filename))),
  );
  return { stat, read, list };
}

test('SFTP paths cannot leave the customer area: traversal, encodings, NUL, long names and planted symlinks', async (t) => {
  const chain = await startChain(t, { fileHost: { sftp: { port: 0, hostKey } } });
  const content = randomBytes(50_000);
  await publish(chain, '1.0.0', content);
  for (const login of ['globex', 'initech']) {
    await chain.call('customer.create', { login, name: login, password: 'correct horse battery' });
    await chain.call('entitlement.grant', { customer: login, product: 'acme-db' });
    await chain.web.fulfillment.stage(login, 'acme-db', '1.0.0');
  }
  const marker = `SECRET-${randomBytes(8).toString('hex')}`;
  const areas = join(chain.fileDir, 'areas');
  await writeFile(join(chain.fileDir, 'secret.txt'), marker);
  await writeFile(join(areas, 'secret.txt'), marker);
  await mkdir(join(areas, 'initech', 'private'), { recursive: true });
  await writeFile(join(areas, 'initech', 'private', 'secret.txt'), marker);
  await symlink(join(chain.fileDir, 'secret.txt'), join(areas, 'globex', 'acme-db', 'escape'));
  await symlink(chain.fileDir, join(areas, 'globex', 'acme-db', 'linkdir'));
  await symlink(join(areas, 'initech'), join(areas, 'globex', 'neighbour'));
  await symlink('/etc', join(areas, 'globex', 'etc'));

  const { sftp, close } = await sftpConnect({ port: chain.fileHost.sftpAddress!.port, username: 'globex', password: 'correct horse battery' });
  t.teardown(close);

  const ups = (n: number) => '../'.repeat(n);
  const payloads = [
    ...[1, 2, 3, 4, 6, 10].map((n) => `${ups(n)}secret.txt`),
    ...[1, 2, 3, 8].map((n) => `/${ups(n)}secret.txt`),
    ...[2, 5].map((n) => `acme-db/1.0.0/${ups(n)}secret.txt`),
    '../initech/private/secret.txt',
    '/../initech/private/secret.txt',
    '/acme-db/../../initech/private/secret.txt',
    '../../../etc/passwd',
    '/etc/passwd',
    '/etc/shadow',
    '/proc/self/environ',
    '/proc/self/cwd/secret.txt',
    '..\\..\\secret.txt',
    '\\..\\..\\secret.txt',
    'acme-db\\..\\..\\secret.txt',
    '%2e%2e/%2e%2e/secret.txt',
    '%2e%2e%2f%2e%2e%2fsecret.txt',
    '%252e%252e/secret.txt',
    '..%2f..%2fsecret.txt',
    '..%5c..%5csecret.txt',
    '%c0%ae%c0%ae/secret.txt',
    '..\u0000/secret.txt',
    'acme-db\u0000/../../secret.txt',
    '/acme-db/1.0.0/acme-db-1.0.0.tar.gz\u0000.txt',
    '../\u0000',
    '....//....//secret.txt',
    '.../.../secret.txt',
    '..;/..;/secret.txt',
    '..//..//secret.txt',
    './../.././../secret.txt',
    '/./../secret.txt',
    `${'a'.repeat(256)}/../../secret.txt`,
    `/${'x'.repeat(5000)}`,
    `${'../'.repeat(1500)}secret.txt`,
    '\uff0e\uff0e/\uff0e\uff0e/secret.txt',
    '\u2025/secret.txt',
    '/acme-db/escape',
    'acme-db/escape',
    '/acme-db/linkdir/secret.txt',
    '/acme-db/linkdir/areas/secret.txt',
    '/acme-db/linkdir/areas/initech/private/secret.txt',
    '/acme-db/linkdir',
    '/neighbour/private/secret.txt',
    '/neighbour',
    '/etc',
    '/etc/passwd',
    '/etc/hostname',
    '~/secret.txt',
    '~root/.ssh/authorized_keys',
    '/root/.ssh/authorized_keys',
    '/../../../../../../../../../../../../',
    '..',
    '/..',
    '/acme-db/1.0.0/../../../secret.txt',
    'acme-db/1.0.0/../../../../initech',
  ];
  t.true(payloads.length >= 50, `${payloads.length} payloads`);
  for (const path of payloads) {
    const { stat, read, list } = await attempt(sftp, path);
    const label = JSON.stringify(path.length > 80 ? `${path.slice(0, 80)}…` : path);
    if (Buffer.isBuffer(read)) {
      t.false(read.includes(marker), `${label}: no secret in what was read`);
      t.true(read.equals(content.subarray(0, read.length)), `${label}: anything read is the customer's own file`);
    }
    if (Array.isArray(list)) {
      t.false(
        list.some((name) => ['secret.txt', 'private', 'initech', 'passwd', 'hostname'].includes(name)),
        `${label}: no foreign names listed (${list.join(', ')})`,
      );
    }
    t.not(stat, `size ${marker.length}`, `${label}: the secret's size is not seen`);
  }
  // The session still works after all that.
  const home = await new Promise<string[]>((resolve, reject) => sftp.readdir('/', (err, list) => (err ? reject(err) : resolve(list.map((e) => e.filename)))));
  t.deepEqual(home, ['acme-db']);
});
