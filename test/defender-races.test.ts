/**
 * The brute-force defender against guesses sent at once, over real FTP and SFTP connections from
 * several loopback addresses (127.0.0.2 …), through the real chain: the web host's metrics count
 * the auth.check requests that reached the internal-db (each one a password check, scrypt there).
 */
import { createServer } from 'node:net';
import test from 'ava';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { authChecksSent, startChain } from './helpers/chain.js';
import { PASSWORD, Raw, setup, startFtp } from './helpers/ftp.js';
import { sftpConnect } from './helpers/sftp.js';
import { deferred } from './helpers/wait.js';

const THRESHOLD = 15;
const GUESSES = 45;
const sessions = { defenderThreshold: THRESHOLD, maxSessionsPerAddress: 100, maxSessionsPerCustomer: 100 };

test('45 FTP passwords guessed at once from one address: at most the defender threshold reach the password check, and only that address is banned', async (t) => {
  const { chain, ftp } = await setup(t, { chain: { fileHost: { sessions } } });
  const port = ftp.address.port;
  const raws = await Promise.all(Array.from({ length: GUESSES }, () => Raw.open(t, port, '127.0.0.2')));
  for (const raw of raws) t.is((await raw.reply()).code, 220);
  for (const raw of raws) t.is((await raw.send('USER globex')).code, 331);
  const before = await authChecksSent(chain);
  // Every guess is on the wire before the first one is answered.
  for (const [i, raw] of raws.entries()) raw.socket.write(`PASS guess ${i}\r\n`);
  const replies = await Promise.all(raws.map((raw) => raw.reply()));
  const checked = (await authChecksSent(chain)) - before;
  t.true(checked <= THRESHOLD, `${checked} of ${GUESSES} guesses reached the password check`);
  t.is(replies.filter((r) => r.code === 530).length, checked, 'each checked guess refused');
  t.is(replies.filter((r) => r.code === 421).length, GUESSES - checked, 'the others refused unchecked');
  t.truthy(chain.fileHost.logins.defender.bannedUntil('127.0.0.2'));
  const late = await Raw.open(t, port, '127.0.0.2');
  t.is((await late.reply()).code, 421, 'banned: refused before the greeting');
  const customer = await Raw.open(t, port, '127.0.0.3');
  t.is((await customer.reply()).code, 220, 'another address is not');
  await customer.login();
});

test('45 SFTP passwords guessed at once from one address: at most the defender threshold reach the password check', async (t) => {
  const chain = await startChain(t, { fileHost: { sftp: { port: 0, hostKey: generateEd25519().private }, sessions } });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const port = chain.fileHost.sftpAddress!.port;
  // Each client holds its password until all of them are connected and asked for one.
  const allAsked = deferred();
  let asked = 0;
  const guess = (i: number) =>
    sftpConnect({
      port,
      username: 'globex',
      localAddress: '127.0.0.4',
      authHandler: (authsLeft, _partial, next) => {
        if (authsLeft !== null) return next(false as never); // refused: no other method
        if (++asked === GUESSES) allAsked.resolve();
        void allAsked.promise.then(() => next({ type: 'password', username: 'globex', password: `guess ${i}` }));
      },
    });
  const before = await authChecksSent(chain);
  const outcomes = await Promise.allSettled(Array.from({ length: GUESSES }, (_, i) => guess(i)));
  t.true(outcomes.every((o) => o.status === 'rejected'));
  const checked = (await authChecksSent(chain)) - before;
  t.true(checked <= THRESHOLD, `${checked} of ${GUESSES} guesses reached the password check`);
  t.truthy(chain.fileHost.logins.defender.bannedUntil('127.0.0.4'));
  await t.throwsAsync(sftpConnect({ port, username: 'globex', password: PASSWORD, localAddress: '127.0.0.4' }), undefined, 'banned, even with the password');
  const { close } = await sftpConnect({ port, username: 'globex', password: PASSWORD, localAddress: '127.0.0.5' });
  close();
});

/** True when this machine can listen on IPv6 (the dual-stack `::` and `::1`). */
async function ipv6Loopback(): Promise<boolean> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(0, '::1', () => server.close(() => resolve(true)));
  });
}

test('an IPv4 client seen through a dual-stack listener (::ffff:127.0.0.6) is banned as 127.0.0.6 everywhere; an IPv6 client is banned with its /64', async (t) => {
  if (!(await ipv6Loopback())) {
    t.log('no IPv6 loopback here: the grouping is covered by the unit tests (defender.test.ts)');
    t.pass();
    return;
  }
  // The file host (its SFTP server) on the dual-stack wildcard: an IPv4 client is seen as ::ffff:127.0.0.6 there.
  const { chain, ftp } = await setup(t, {
    chain: { fileHost: { host: '::', sftp: { port: 0, hostKey: generateEd25519().private }, sessions: { defenderThreshold: 3 } } },
  });
  const sftpPort = chain.fileHost.sftpAddress!.port;
  for (let i = 0; i < 3; i++) await t.throwsAsync(sftpConnect({ port: sftpPort, username: 'globex', password: `guess ${i}`, localAddress: '127.0.0.6' }));
  t.deepEqual(
    chain.fileHost.logins.defender.banned().map((b) => b.address),
    ['127.0.0.6'],
  );
  const viaIpv4 = await Raw.open(t, ftp.address.port, '127.0.0.6');
  t.is((await viaIpv4.reply()).code, 421, 'the FTP server on 127.0.0.1 refuses it too');

  const v6 = await startFtp(t, chain, { host: '::1' });
  for (let i = 0; i < 3; i++) {
    const raw = await Raw.open(t, v6.address.port, '::1', '::1');
    t.is((await raw.reply()).code, 220);
    await raw.send('USER globex');
    t.is((await raw.send(`PASS guess ${i}`)).code, 530);
  }
  t.true(chain.fileHost.logins.defender.banned().some((b) => b.address === '0:0:0:0::/64'));
  t.truthy(chain.fileHost.logins.defender.bannedUntil('::2'), 'a neighbour in the /64 shares the ban (::1 is the one IPv6 loopback address we can send from)');
  const again = await Raw.open(t, v6.address.port, '::1', '::1');
  t.is((await again.reply()).code, 421);
});
