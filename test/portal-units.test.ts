import test from 'ava';
import { createHash } from 'node:crypto';
import { isLoopbackHost } from '../services/web/portal/cookies.js';
import { humanSize, humanTime } from '../services/web/portal/format.js';
import { escapeHtml, html } from '../services/web/portal/html.js';
import { CONTENT_SECURITY_POLICY, layout } from '../services/web/portal/layout.js';
import { isLocalPath } from '../services/web/portal/page.js';
import { entitlementStatus } from '../services/web/portal/pages/downloads.js';
import { LoginLimiter } from '../services/web/portal/rate-limit.js';
import { type CodedError } from '../lib/errors/index.js';

test('escapeHtml escapes every character that could end text or an attribute', (t) => {
  t.is(escapeHtml(`<a href="x" onclick='y'>&\`</a>`), '&lt;a href=&quot;x&quot; onclick=&#39;y&#39;&gt;&amp;&#96;&lt;/a&gt;');
  t.is(escapeHtml('plain text, ünïcödé'), 'plain text, ünïcödé');
  t.is(escapeHtml('&amp;'), '&amp;amp;', 'no double-decoding: escaped once more');
});

test('html`` escapes interpolated values, keeps nested fragments, joins arrays, drops null/undefined/false', (t) => {
  const name = '<script>alert(1)</script>';
  const inner = html`<b>${name}</b>`;
  t.is(
    html`<p title="${name}">${inner}${['<i>', html`<i>`]}${null}${undefined}${false}${0}</p>`.text,
    '<p title="&lt;script&gt;alert(1)&lt;/script&gt;"><b>&lt;script&gt;alert(1)&lt;/script&gt;</b>&lt;i&gt;<i>0</p>',
  );
});

test('the layout has lang, a skip link, the main landmark, and the one stylesheet the CSP allows by hash', (t) => {
  const page = layout('Title <x>', html`<p>hi</p>`).text;
  t.regex(page, /^<!doctype html>\n<html lang="en">/);
  t.regex(page, /<title>Title &lt;x&gt; · Software downloads<\/title>/);
  t.regex(page, /<a class="skip" href="#main">/);
  t.regex(page, /<main id="main" tabindex="-1">/);
  const style = /<style>([\s\S]*?)<\/style>/.exec(page)![1]!;
  t.true(CONTENT_SECURITY_POLICY.includes(`'sha256-${createHash('sha256').update(style).digest('base64')}'`));
  t.regex(style, /:focus-visible\{outline:3px/);
  t.false(page.includes('<script'));
});

test('isLocalPath: paths on this site only', (t) => {
  for (const ok of ['/', '/downloads', '/download/5', '/downloads#release-acme-db-1.0.0', '/eula/1?next=%2Fdownloads']) t.true(isLocalPath(ok), ok);
  for (const bad of [
    '',
    'downloads',
    '//evil.example',
    '/\\evil.example',
    'https://evil.example/',
    '/a b',
    '/a\nb',
    'javascript:alert(1)',
    `/${'a'.repeat(2048)}`,
  ])
    t.false(isLocalPath(bad), bad);
});

test('humanSize and humanTime', (t) => {
  t.is(humanSize(0), '0 bytes');
  t.is(humanSize(1), '1 byte');
  t.is(humanSize(1023), '1023 bytes');
  t.is(humanSize(1536), '1.5 KiB');
  t.is(humanSize(3_000_000), '2.9 MiB');
  t.is(humanSize(5 * 1024 ** 3), '5.0 GiB');
  t.is(humanTime('2025-03-01T14:05:59.000Z'), '2025-03-01 14:05 UTC');
  t.is(humanTime('soon'), 'soon');
});

test('isLoopbackHost: localhost, *.localhost, 127/8 and ::1', (t) => {
  for (const h of ['localhost', 'LOCALHOST', 'portal.localhost', '127.0.0.1', '127.1.2.3', '[::1]', '::1']) t.true(isLoopbackHost(h), h);
  for (const h of ['example.com', 'localhost.example.com', '10.0.0.1', '128.0.0.1', '[::2]', '']) t.false(isLoopbackHost(h), h);
});

test('entitlementStatus says what expiry means', (t) => {
  const base = { id: 1, product: 'acme-db', range: '^2', startsAt: '2025-01-01T00:00:00.000Z', expiresAt: '2025-06-01T00:00:00.000Z' };
  t.is(
    entitlementStatus({ ...base, onExpiry: 'keep', status: 'expired-keep' }),
    'versions ^2; expired on 2025-06-01 00:00 UTC: releases published before then remain',
  );
  t.is(entitlementStatus({ ...base, onExpiry: 'revoke', status: 'expired' }), 'versions ^2; expired on 2025-06-01 00:00 UTC: no releases remain');
  t.is(entitlementStatus({ ...base, onExpiry: 'revoke', status: 'pending' }), 'versions ^2; starts on 2025-01-01 00:00 UTC');
  t.is(entitlementStatus({ ...base, range: '*', expiresAt: null, onExpiry: 'keep', status: 'active' }), 'all versions; active, no expiry');
});

test('LoginLimiter: a sign-in counts before its password is checked, a failure stays, a success is given back; per address a window from the first failure with Retry-After', async (t) => {
  let now = 1_000_000; // a cache clock must not read 0 (cacheClock)
  const limiter = new LoginLimiter({ failuresPerAddress: 3, failuresPerLogin: 100, maxDelayMs: 0, windowSeconds: 60 }, () => now);
  (await limiter.reserve('10.0.0.1', 'globex')).failed();
  now += 10_000;
  const right = await limiter.reserve('10.0.0.1', 'initech');
  const unchecked = await limiter.reserve('10.0.0.1', 'umbrella');
  // Two in flight and one failure fill the limit: a fourth waits for one of them to be decided.
  let fourthDone = false;
  const fourth = limiter.reserve('10.0.0.1', 'globex').finally(() => (fourthDone = true));
  await Promise.resolve();
  t.false(fourthDone, 'waiting');
  right.succeeded();
  right.succeeded(); // decided once only
  (await fourth).failed();
  unchecked.failed();
  const limited = (await t.throwsAsync(limiter.reserve('10.0.0.1', 'globex'))) as CodedError;
  t.is(limited.code, 'ERR_RATE_LIMITED');
  t.regex(limited.message, /from this address/);
  t.is(limited.details.retryAfterSeconds, 50, 'the window started at the first failure');
  const elsewhere = await limiter.reserve('10.0.0.2', 'globex');
  elsewhere.cancel(); // the internal-db could not be asked: not counted
  for (let i = 0; i < 2; i++) (await limiter.reserve('10.0.0.2', 'globex')).failed();
  await t.notThrowsAsync(limiter.reserve('10.0.0.2', 'globex'), 'another address has its own count');
  now += 60_001;
  for (let i = 0; i < 3; i++) (await limiter.reserve('10.0.0.1', 'a1')).failed();
  t.pass('the window has passed');
});

test('LoginLimiter: right sign-ins sent at once from one address all get in, past the limit of failures', async (t) => {
  const limiter = new LoginLimiter({ failuresPerAddress: 3, failuresPerLogin: 100, maxDelayMs: 0, windowSeconds: 60 });
  const signIn = async () => {
    const attempt = await limiter.reserve('10.0.0.1', 'globex');
    await new Promise((resolve) => setImmediate(resolve)); // the password check
    attempt.succeeded();
  };
  await t.notThrowsAsync(Promise.all(Array.from({ length: 20 }, signIn)));
});

test('LoginLimiter: an IPv6 client is counted by its /64, an IPv4-mapped address as the IPv4 address', async (t) => {
  const limiter = new LoginLimiter({ failuresPerAddress: 2, failuresPerLogin: 100, maxDelayMs: 0, windowSeconds: 60 });
  const fail = async (address: string) => (await limiter.reserve(address, 'a')).failed();
  await fail('2001:db8:1:2::1');
  await fail('2001:db8:1:2:ffff:ffff:ffff:fffe');
  await t.throwsAsync(limiter.reserve('2001:db8:1:2:abcd::9', 'c'), { message: /from this address/ });
  await t.notThrowsAsync(limiter.reserve('2001:db8:1:3::1', 'c'), 'the next /64 is another client');
  await fail('192.0.2.7');
  await fail('::ffff:192.0.2.7');
  await t.throwsAsync(limiter.reserve('192.0.2.7', 'c'), { message: /from this address/ });
});

test('LoginLimiter: past failuresPerLogin (from any address, in flight included) a sign-in for the login is held back, longer with each failure up to maxDelayMs, and never refused', async (t) => {
  const limiter = new LoginLimiter({ failuresPerAddress: 1000, failuresPerLogin: 2, maxDelayMs: 1500, windowSeconds: 60 });
  const first = await limiter.reserve('10.0.0.1', 'globex');
  t.is(first.delayMs, 0);
  first.failed();
  const second = await limiter.reserve('10.0.0.2', 'GLOBEX ');
  t.is(second.delayMs, 0, 'counted case-insensitively');
  const delays: number[] = [];
  for (const address of ['10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7']) delays.push((await limiter.reserve(address, 'globex')).delayMs);
  t.deepEqual(delays, [250, 500, 1000, 1500, 1500], 'sign-ins in flight count too');
  const right = await limiter.reserve('10.0.0.8', 'globex');
  t.is(right.delayMs, 1500, 'the right password waits too (it is not known yet), then gets in');
  right.succeeded();
  t.is((await limiter.reserve('10.0.0.8', 'globex')).delayMs, 1500);
  t.is((await limiter.reserve('10.0.0.1', 'initech')).delayMs, 0, 'other logins are not held back');
});

test('LoginLimiter: at most maxTracked addresses (and logins), the least recently seen forgotten first', async (t) => {
  const limiter = new LoginLimiter({ failuresPerAddress: 1, failuresPerLogin: 100, maxDelayMs: 0, windowSeconds: 60, maxTracked: 2 });
  const fail = async (address: string) => (await limiter.reserve(address, 'a')).failed();
  await fail('10.0.0.1');
  await fail('10.0.0.2');
  await t.throwsAsync(limiter.reserve('10.0.0.1', 'x'), { message: /from this address/ }); // 10.0.0.1 is now the most recently seen
  await fail('10.0.0.3');
  await t.notThrowsAsync(limiter.reserve('10.0.0.2', 'x'), 'forgotten to make room');
  await t.throwsAsync(limiter.reserve('10.0.0.3', 'x'), { message: /from this address/ });
});
