import test from 'ava';
import { addressGroup } from '../lib/address-group.js';
import { Defender, SCORE } from '../services/ftp/common/defender.js';
import { LoginCache } from '../services/ftp/common/login-cache.js';
import { SessionLimits } from '../services/ftp/common/session-limits.js';
import { waitFor } from './helpers/wait.js';

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

test('addressGroup: IPv4 as itself, IPv4-mapped IPv6 as the IPv4 address, IPv6 by its /64, anything else as given', (t) => {
  t.is(addressGroup('192.0.2.1'), '192.0.2.1');
  t.is(addressGroup('::ffff:192.0.2.1'), '192.0.2.1');
  t.is(addressGroup('::FFFF:c000:0201'), '192.0.2.1', 'the hex form too');
  t.is(addressGroup('2001:db8:1:2::1'), '2001:db8:1:2::/64');
  t.is(addressGroup('2001:0DB8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  t.is(addressGroup('2001:db8:1:2:3:4:192.0.2.1'), '2001:db8:1:2::/64', 'an embedded dotted quad');
  t.is(addressGroup('2001:db8::1'), '2001:db8:0:0::/64');
  t.is(addressGroup('::1'), '0:0:0:0::/64');
  t.is(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64', 'the zone dropped');
  t.is(addressGroup('not an address'), 'not an address');
  t.not(addressGroup('2001:db8:1:2::1'), addressGroup('2001:db8:1:3::1'));
});

test('the defender counts an IPv6 client by its /64 and an IPv4-mapped address as the IPv4 address', (t) => {
  const defender = new Defender({ threshold: 3, observationMs: 60_000, banMs: 10_000, banIncrementPercent: 0 });
  t.teardown(() => defender.close());
  defender.fail('2001:db8:1:2::1', SCORE.wrongPassword);
  defender.fail('2001:db8:1:2::2', SCORE.wrongPassword);
  t.true(defender.fail('2001:db8:1:2:dead:beef:0:1', SCORE.wrongPassword), 'three addresses of one /64: one client');
  t.truthy(defender.bannedUntil('2001:db8:1:2:ffff::9'), 'its neighbour shares the ban');
  t.is(defender.bannedUntil('2001:db8:1:3::1'), undefined, 'the next /64 does not');
  t.deepEqual(
    defender.banned().map((b) => b.address),
    ['2001:db8:1:2::/64'],
  );
  defender.fail('::ffff:192.0.2.9', SCORE.unknownLogin);
  t.true(defender.fail('192.0.2.9', SCORE.wrongPassword));
  t.truthy(defender.bannedUntil('::ffff:192.0.2.9'));
});

test('the defender reserves a failure before the check: past the threshold a login waits for those in flight, a success is given back, a confirmed failure bans', async (t) => {
  const defender = new Defender({ threshold: 3, observationMs: 60_000, banMs: 10_000, banIncrementPercent: 0 });
  t.teardown(() => defender.close());
  const attempts = await Promise.all([1, 2, 3].map(() => defender.attempt('192.0.2.1')));
  t.true(attempts.every((a) => a !== undefined));
  let fourthDone = false;
  const fourth = defender.attempt('192.0.2.1').finally(() => (fourthDone = true));
  await new Promise((resolve) => setImmediate(resolve));
  t.false(fourthDone, 'three checks in flight fill the threshold: a fourth waits');
  t.is(defender.bannedUntil('192.0.2.1'), undefined, 'and nothing is banned for what is not decided');
  attempts[0]!.cancel(); // a success
  attempts[0]!.failed(SCORE.wrongPassword); // decided once only
  const admitted = await fourth;
  t.truthy(admitted, 'a success made room');
  let fifthDone = false;
  const fifth = defender.attempt('192.0.2.1').finally(() => (fifthDone = true));
  t.false(attempts[1]!.failed(SCORE.wrongPassword));
  t.false(attempts[2]!.failed(SCORE.wrongPassword));
  t.false(fifthDone, 'two failures and one in flight: still waiting');
  t.true(admitted!.failed(SCORE.wrongPassword), 'the third confirmed failure bans');
  t.is(await fifth, undefined, 'the one waiting is refused: banned');
  t.truthy(defender.bannedUntil('192.0.2.1'));
  t.is(await defender.attempt('192.0.2.1'), undefined, 'banned');
  t.truthy(await defender.attempt('192.0.2.2'), 'another address is admitted');
});

test('the defender admits right logins sent at once from one address, past the threshold', async (t) => {
  const defender = new Defender({ threshold: 3, observationMs: 60_000, banMs: 10_000, banIncrementPercent: 0 });
  t.teardown(() => defender.close());
  const login = async () => {
    const attempt = await defender.attempt('192.0.2.1');
    if (!attempt) throw new Error('refused');
    await new Promise((resolve) => setImmediate(resolve)); // the check
    attempt.cancel();
  };
  await t.notThrowsAsync(Promise.all(Array.from({ length: 20 }, login)));
});

test('the defender sweeps forgettable records on its timer (not only when it bans), keeps bans in force, and tracks at most maxTracked', async (t) => {
  let now = 1_000_000;
  const defender = new Defender({ threshold: 2, observationMs: 1000, banMs: 5000, banIncrementPercent: 0, sweepIntervalMs: 10, now: () => now });
  t.teardown(() => defender.close());
  for (let i = 0; i < 50; i++) defender.fail(`192.0.2.${i}`, SCORE.wrongPassword);
  defender.fail('198.51.100.1', SCORE.unknownLogin); // banned
  const pending = await defender.attempt('198.51.100.2');
  t.is(defender.tracked, 52);
  now += 1001; // every failure has left the window
  await waitFor(() => defender.tracked === 2, 5000, 'the timer to sweep');
  t.truthy(defender.bannedUntil('198.51.100.1'), 'a ban in force is kept');
  pending!.cancel();
  now += 5000;
  await waitFor(() => defender.tracked === 0, 5000, 'the ended ban and the given-back attempt to be swept');
  const capped = new Defender({ threshold: 5, observationMs: 60_000, banMs: 5000, banIncrementPercent: 0, maxTracked: 3 });
  t.teardown(() => capped.close());
  capped.fail('198.51.100.1', 5); // banned: never forgotten to make room
  for (let i = 0; i < 10; i++) capped.fail(`192.0.2.${i}`, SCORE.wrongPassword);
  t.is(capped.tracked, 3);
  t.truthy(capped.bannedUntil('198.51.100.1'));
});
