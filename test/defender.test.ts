import test from 'ava';
import { Defender, SCORE } from '../services/ftp/common/defender.js';
import { LoginCache } from '../services/ftp/common/login-cache.js';
import { SessionLimits } from '../services/ftp/common/session-limits.js';

test('the defender bans at the threshold within the window, and each later ban lasts longer', (t) => {
  let now = 1_000_000;
  const defender = new Defender({ threshold: 5, observationMs: 60_000, banMs: 10_000, banIncrementPercent: 50, now: () => now });
  const address = '192.0.2.1';
  t.false(defender.fail(address, SCORE.unknownLogin)); // 2
  t.false(defender.fail(address, SCORE.wrongPassword)); // 3
  now += 61_000; // both fall out of the window
  for (let i = 0; i < 4; i++) t.false(defender.fail(address, SCORE.wrongPassword), `failure ${i + 1} of 4`);
  t.is(defender.bannedUntil(address), undefined);
  t.true(defender.fail(address, SCORE.wrongPassword), 'the fifth point bans');
  t.is(defender.bannedUntil(address), now + 10_000);
  t.deepEqual(
    defender.banned().map((b) => b.address),
    [address],
  );
  t.is(defender.bannedUntil('192.0.2.2'), undefined, 'other addresses are not affected');
  now += 10_001;
  t.is(defender.bannedUntil(address), undefined, 'the ban ends');
  for (let i = 0; i < 4; i++) defender.fail(address, SCORE.wrongPassword);
  t.true(defender.fail(address, SCORE.wrongPassword));
  t.is(defender.bannedUntil(address), now + 15_000, 'the second ban is 50 % longer');
  now += 15_001;
  for (let i = 0; i < 5; i++) defender.fail(address, SCORE.wrongPassword);
  t.is(defender.bannedUntil(address), now + 22_500, 'and the third 50 % longer again');
});

test('session limits count per key and release once', (t) => {
  const limits = new SessionLimits({ maxPerCustomer: 2, maxPerAddress: 1 });
  const a = limits.connect('192.0.2.1', 'ftp');
  t.throws(() => limits.connect('192.0.2.1', 'sftp'), { code: 'ERR_TOO_MANY_SESSIONS' } as never);
  a.release();
  a.release(); // idempotent: does not free a slot it does not hold
  const b = limits.connect('192.0.2.1', 'ftp');
  t.throws(() => limits.connect('192.0.2.1', 'ftp'), { code: 'ERR_TOO_MANY_SESSIONS' } as never);
  b.release();
  const s1 = limits.login('globex');
  limits.login('globex');
  t.throws(() => limits.login('globex'), { code: 'ERR_TOO_MANY_SESSIONS' } as never);
  s1();
  t.notThrows(() => limits.login('globex'));
});

test('connections not yet logged in are capped per protocol, from every address together, until they log in or close', (t) => {
  const limits = new SessionLimits({ maxPerCustomer: 10, maxPerAddress: 10, maxUnauthenticated: 2 });
  const a = limits.connect('192.0.2.1', 'sftp');
  const b = limits.connect('192.0.2.2', 'sftp');
  t.throws(() => limits.connect('192.0.2.3', 'sftp'), { code: 'ERR_TOO_MANY_SESSIONS' } as never);
  t.deepEqual(limits.counts().addresses, { '192.0.2.1': 1, '192.0.2.2': 1 }, 'a refused connection holds no address slot');
  t.notThrows(() => limits.connect('192.0.2.3', 'ftp').release(), 'FTP has a cap of its own');
  a.authenticated();
  a.authenticated(); // idempotent
  const c = limits.connect('192.0.2.3', 'sftp');
  t.deepEqual(limits.counts().unauthenticated, { sftp: 2 });
  a.release(); // after login: only its address slot was left
  t.deepEqual(limits.counts().unauthenticated, { sftp: 2 });
  b.release();
  c.release();
  t.deepEqual(limits.counts(), { customers: {}, addresses: {}, unauthenticated: {} });
});

test('the login cache shares checks in flight, remembers successes until they expire, never failures, and forgets a customer on demand', async (t) => {
  let now = 1_000_000; // a cache clock must not read 0 (cacheClock)
  const cache = new LoginCache({ ttlMs: 60_000, now: () => now });
  let checks = 0;
  const check = async () => {
    checks++;
    await new Promise((r) => setTimeout(r, 20));
    return { customer: 'globex', name: 'Globex' };
  };
  const key = cache.key('globex', 'password\u0000secret');
  t.not(key, cache.key('globex', 'password\u0000other'));
  t.false(key.includes('secret'), 'the credential is not kept');
  const results = await Promise.all(Array.from({ length: 10 }, () => cache.get(key, check)));
  t.is(checks, 1, 'ten logins at once, one check');
  t.true(results.every((r) => r.customer === 'globex'));
  await cache.get(key, check);
  t.is(checks, 1, 'remembered');
  now += 60_001;
  await cache.get(key, check);
  t.is(checks, 2, 'expired, checked again');
  cache.invalidate('globex');
  await cache.get(key, check);
  t.is(checks, 3, 'forgotten on demand');
  const refusing = async () => {
    checks++;
    throw Object.assign(new Error('login refused'), { code: 'ERR_AUTH_REFUSED' });
  };
  const bad = cache.key('globex', 'password\u0000wrong');
  await t.throwsAsync(cache.get(bad, refusing));
  await t.throwsAsync(cache.get(bad, refusing));
  t.is(checks, 5, 'failures are not remembered');
  const off = new LoginCache({ ttlMs: 0 });
  let offChecks = 0;
  const counted = async () => {
    offChecks++;
    return { customer: 'globex', name: 'Globex' };
  };
  await off.get(key, counted);
  await off.get(key, counted);
  t.is(offChecks, 2, 'with no cache time every login is checked');
});

test('the login cache holds at most maxEntries logins, the least recently used going first', async (t) => {
  const cache = new LoginCache({ ttlMs: 60_000, maxEntries: 2 });
  let checks = 0;
  const login = (key: string) =>
    cache.get(key, async () => {
      checks++;
      return { customer: key, name: key };
    });
  await login('a');
  await login('b');
  await login('a'); // a is now the most recently used
  t.is(checks, 2);
  await login('c');
  await login('a');
  t.is(checks, 3, 'a stayed');
  await login('b');
  t.is(checks, 4, 'b, the least recently used, made room for c');
});
