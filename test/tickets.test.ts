import { generateKeyPairSync } from 'node:crypto';
import test, { type ExecutionContext } from 'ava';
import { loadSigningKey, signatureFor, TicketSigner, TicketVerifier, type TicketClaims, type TicketVerdict } from '../lib/tickets/index.js';
import { ticketKeys } from './helpers/chain.js';

/** A fixed clock: tickets in these tests expire relative to it, never to the wall clock. */
const T0 = 1_800_000_000_000;
const HOUR = 3_600_000;

function otherKeys(): { privateKeyPem: string; publicKeyPem: string } {
  const pair = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  });
  return { privateKeyPem: pair.privateKey, publicKeyPem: pair.publicKey };
}

function signer(): TicketSigner {
  return new TicketSigner(ticketKeys().privateKeyPem);
}

/** A verifier whose clock is whatever `clock.now` holds. */
function verifier(cacheEntries = 100, clock: { now: number } = { now: T0 }): TicketVerifier {
  return new TicketVerifier(ticketKeys().publicKeyPem, { cacheEntries, now: () => clock.now });
}

function claims(overrides: Partial<TicketClaims> = {}): TicketClaims {
  return { customer: 'acme', path: '/product/1.0.0/setup.exe', expiresAt: T0 + HOUR, issuedAt: T0 - 1, ...overrides };
}

function parts(ticket: string): [string, string, string] {
  const split = ticket.split('.');
  if (split.length !== 3) throw new Error(`not a three-part ticket: ${ticket}`);
  return split as [string, string, string];
}

/** Replaces the character at `index` with a different one from the base64url alphabet. */
function flipChar(text: string, index: number): string {
  const replacement = text[index] === 'A' ? 'B' : 'A';
  return text.slice(0, index) + replacement + text.slice(index + 1);
}

function b64url(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

function refusedWith(t: ExecutionContext, verdict: TicketVerdict, reasons: readonly string[], label: string): void {
  t.false(verdict.ok, `${label}: must not verify`);
  if (!verdict.ok) {
    t.true(reasons.includes(verdict.reason), `${label}: reason ${verdict.reason}, expected one of ${reasons.join(', ')}`);
    t.is(typeof verdict.message, 'string', `${label}: has a message`);
  }
}

// ---------------------------------------------------------------------------------------------
// Round trip

test('round trip: the claims come back, expiresAt truncated to whole seconds', (t) => {
  const s = signer();
  const v = verifier();
  const cases: Array<{ input: TicketClaims; expected: TicketClaims }> = [
    { input: claims(), expected: claims() },
    {
      input: claims({ expiresAt: T0 + HOUR + 999, artifactId: 42 }),
      expected: { customer: 'acme', path: '/product/1.0.0/setup.exe', expiresAt: T0 + HOUR, artifactId: 42, issuedAt: T0 - 1 },
    },
    {
      input: { customer: 'c0.x_y-z', path: '/données/ü.txt', expiresAt: T0 + 1_234, issuedAt: T0 - 5 },
      expected: { customer: 'c0.x_y-z', path: '/données/ü.txt', expiresAt: T0 + 1_000, issuedAt: T0 - 5 },
    },
  ];
  for (const { input, expected } of cases) {
    const ticket = s.sign(input);
    t.regex(ticket, /^v1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/, 'wire form v1.<b64url>.<b64url>');
    const verdict = v.verify(ticket);
    t.true(verdict.ok, `verifies: ${JSON.stringify(input)}`);
    if (verdict.ok) {
      t.deepEqual(verdict.claims, expected);
      t.is(verdict.claims.expiresAt % 1000, 0);
    }
  }
});

test('the signer sets the issue time (ms) when the claims do not; a ticket without one reads as issued at 0', (t) => {
  const before = Date.now();
  const { issuedAt: _, ...rest } = claims();
  const verdict = verifier().verify(signer().sign(rest));
  t.true(verdict.ok);
  if (verdict.ok) t.true(verdict.claims.issuedAt! >= before && verdict.claims.issuedAt! <= Date.now());
  // A ticket signed before the claim existed (no `i` in its payload).
  const signed = `v1.${b64url({ c: 'acme', p: '/product/1.0.0/setup.exe', e: (T0 + HOUR) / 1000 })}`;
  const old = verifier().verify(`${signed}.${signatureFor(loadSigningKey(ticketKeys().privateKeyPem), signed)}`);
  t.true(old.ok, 'an old ticket still verifies');
  if (old.ok) t.is(old.claims.issuedAt, 0);
  refusedWith(t, verifier().verify(`v1.${b64url({ c: 'acme', p: '/a/b/c', e: 1, i: -1 })}.AAAA`), ['malformed'], 'a negative issue time');
});

test('no artifactId in, no artifactId out', (t) => {
  const verdict = verifier().verify(signer().sign(claims()));
  t.true(verdict.ok);
  if (verdict.ok) t.false('artifactId' in verdict.claims);
});

test('verifying the same ticket twice gives equal claims (with and without the cache)', (t) => {
  const ticket = signer().sign(claims({ artifactId: 7 }));
  for (const cacheEntries of [0, 10]) {
    const v = verifier(cacheEntries);
    const first = v.verify(ticket);
    const second = v.verify(ticket);
    t.true(first.ok && second.ok, `cacheEntries ${cacheEntries}`);
    if (first.ok && second.ok) {
      t.deepEqual(second.claims, first.claims);
      t.deepEqual(first.claims, { ...claims({ artifactId: 7 }) });
    }
  }
});

// ---------------------------------------------------------------------------------------------
// Keys

test('a ticket signed with another key pair is refused: signature', (t) => {
  const other = otherKeys();
  const foreignTicket = new TicketSigner(other.privateKeyPem).sign(claims());
  refusedWith(t, verifier().verify(foreignTicket), ['signature'], 'foreign signer');

  // And the other way round: our ticket checked by a verifier holding the other public key.
  const foreignVerifier = new TicketVerifier(other.publicKeyPem, { cacheEntries: 10, now: () => T0 });
  refusedWith(t, foreignVerifier.verify(signer().sign(claims())), ['signature'], 'foreign verifier');
});

test('the signer refuses a public key', (t) => {
  // node-rsa may throw a non-Error (a DOMException from atob): any throw counts as a refusal.
  const throwsAnything = (make: () => unknown): boolean => {
    try {
      make();
      return false;
    } catch {
      return true;
    }
  };
  t.true(
    throwsAnything(() => new TicketSigner(ticketKeys().publicKeyPem)),
    'public key',
  );
  t.true(
    throwsAnything(() => new TicketSigner(otherKeys().publicKeyPem)),
    'another public key',
  );
  t.true(
    throwsAnything(() => new TicketSigner('not a key')),
    'not a key',
  );
});

// ---------------------------------------------------------------------------------------------
// Tampering

test('tampering: one character of the payload part', (t) => {
  const ticket = signer().sign(claims({ artifactId: 3 }));
  const [version, payload, signature] = parts(ticket);
  const v = verifier(0);
  for (let i = 0; i < payload.length; i++) {
    const tampered = `${version}.${flipChar(payload, i)}.${signature}`;
    refusedWith(t, v.verify(tampered), ['signature', 'malformed'], `payload char ${i}`);
  }
  t.true(v.verify(ticket).ok, 'the original still verifies');
});

test('tampering: one character inside the signature part', (t) => {
  const ticket = signer().sign(claims());
  const [version, payload, signature] = parts(ticket);
  const v = verifier(0);
  // Every position but the last: the last base64url character of a 256-byte signature also
  // carries 4 padding bits, which is covered by the canonical-encoding test below.
  for (let i = 0; i < signature.length - 1; i++) {
    const tampered = `${version}.${payload}.${flipChar(signature, i)}`;
    refusedWith(t, v.verify(tampered), ['signature'], `signature char ${i}`);
  }
  refusedWith(t, v.verify(`${version}.${payload}.`), ['signature', 'malformed'], 'empty signature');
  refusedWith(t, v.verify(`${version}.${payload}.${signature.slice(0, -4)}`), ['signature'], 'truncated signature');
  refusedWith(t, v.verify(`${version}.${payload}.${signature}AAAA`), ['signature'], 'extended signature');
});

test('tampering: the signature part must be canonical base64url (no other string verifies)', (t) => {
  // A ticket is a bearer token: exactly one string should be accepted per signed payload. The
  // claims cannot be changed this way, but a second spelling of the same ticket would bypass
  // anything keyed on the ticket string (the verify cache, a revocation list, audit dedup).
  const ticket = signer().sign(claims());
  const [version, payload, signature] = parts(ticket);
  const v = verifier(0);
  const variants: Array<[string, string]> = [
    ['last character changed (padding bits only)', `${version}.${payload}.${flipChar(signature, signature.length - 1)}`],
    ['trailing "="', `${ticket}=`],
    ['trailing "=="', `${ticket}==`],
    ['trailing "!"', `${ticket}!`],
    ['trailing space', `${ticket} `],
    ['trailing "$$$"', `${ticket}$$$`],
    ['standard base64 "+/" spelling', `${version}.${payload}.${signature.replaceAll('-', '+').replaceAll('_', '/')}`],
  ];
  const accepted: string[] = [];
  for (const [label, variant] of variants) {
    if (variant === ticket) continue; // e.g. a signature with neither '-' nor '_'
    const verdict = v.verify(variant);
    if (verdict.ok || !['signature', 'malformed'].includes(verdict.reason)) accepted.push(label);
  }
  t.deepEqual(accepted, [], 'these non-canonical spellings of a genuine ticket verified');
});

test('tampering: payload of one ticket with the signature of another', (t) => {
  const s = signer();
  const v = verifier(0);
  const a = parts(s.sign(claims({ customer: 'alice', path: '/p/1/a.bin' })));
  const b = parts(s.sign(claims({ customer: 'bobby', path: '/p/1/b.bin' })));
  refusedWith(t, v.verify(`${a[0]}.${a[1]}.${b[2]}`), ['signature'], 'a payload + b signature');
  refusedWith(t, v.verify(`${b[0]}.${b[1]}.${a[2]}`), ['signature'], 'b payload + a signature');
  t.true(v.verify(a.join('.')).ok);
  t.true(v.verify(b.join('.')).ok);
});

test('tampering: a re-encoded payload with other claims keeps the old signature and is refused', (t) => {
  const original = claims({ artifactId: 9 });
  const ticket = signer().sign(original);
  const [version, , signature] = parts(ticket);
  const e = Math.floor(original.expiresAt / 1000);
  const forged: Array<[string, unknown]> = [
    ['other customer', { c: 'mallory', p: original.path, e, a: 9 }],
    ['other path', { c: original.customer, p: '/product/1.0.0/secret.key', e, a: 9 }],
    ['later expiry', { c: original.customer, p: original.path, e: e + 86_400, a: 9 }],
    ['no artifact', { c: original.customer, p: original.path, e }],
    ['same claims, other key order', { p: original.path, c: original.customer, a: 9, e }],
  ];
  const v = verifier(10);
  t.true(v.verify(ticket).ok, 'the genuine ticket verifies (and is now cached)');
  for (const [label, payload] of forged) {
    refusedWith(t, v.verify(`${version}.${b64url(payload)}.${signature}`), ['signature'], label);
  }
});

// ---------------------------------------------------------------------------------------------
// Malformed input

test('malformed inputs are refused', (t) => {
  const s = signer();
  const v = verifier();
  const good = parts(s.sign(claims()));
  const inputs: Array<[string, string]> = [
    ['empty', ''],
    ['"v1"', 'v1'],
    ['"v1."', 'v1.'],
    ['"v1.."', 'v1..'],
    ['"v2.x.y"', 'v2.x.y'],
    ['v2 with a genuine payload and signature', `v2.${good[1]}.${good[2]}`],
    ['no version', `${good[1]}.${good[2]}`],
    ['garbage', 'garbage'],
    ['garbage with dots', '...'],
    ['binary garbage', '\u0000\u0001\uffff.\u00e9.\ud83d\ude00'],
    ['10 KB string', 'v1.' + 'A'.repeat(10 * 1024)],
    ['10 KB string of dots', '.'.repeat(10 * 1024)],
    ['payload is not JSON', `v1.${Buffer.from('{nope').toString('base64url')}.${good[2]}`],
    ['payload is a JSON array', `v1.${b64url([1, 2])}.${good[2]}`],
    ['payload is JSON null', `v1.${b64url(null)}.${good[2]}`],
    ['payload is a JSON string', `v1.${b64url('acme')}.${good[2]}`],
    ['empty payload', `v1..${good[2]}`],
  ];
  for (const [label, input] of inputs) refusedWith(t, v.verify(input), ['malformed', 'signature'], label);
  // The outright-garbage ones must be called malformed, not signature failures.
  for (const input of ['', 'v1', 'v2.x.y', 'garbage', 'v1.' + 'A'.repeat(10 * 1024)]) {
    const verdict = v.verify(input);
    t.false(verdict.ok);
    if (!verdict.ok) t.is(verdict.reason, 'malformed', JSON.stringify(input.slice(0, 20)));
  }
  t.true(v.verify(good.join('.')).ok, 'the well-formed ticket still verifies');
});

test('payloads with wrong field types are refused even when genuinely signed', (t) => {
  // The signer does not validate (the web host does); the verifier must reject what it cannot trust.
  const s = signer();
  const v = verifier();
  const bad: Array<[string, TicketClaims]> = [
    ['customer with a space', claims({ customer: 'A B' })],
    ['customer upper case', claims({ customer: 'Acme' })],
    ['customer one character', claims({ customer: 'a' })],
    ['customer empty', claims({ customer: '' })],
    ['customer too long', claims({ customer: 'a'.repeat(65) })],
    ['customer with a slash', claims({ customer: 'ac/me' })],
    ['customer not a string', claims({ customer: 42 as unknown as string })],
    ['path relative', claims({ path: 'product/1.0.0/setup.exe' })],
    ['path empty', claims({ path: '' })],
    ['path too long', claims({ path: '/' + 'a'.repeat(4096) })],
    ['path not a string', claims({ path: ['/a'] as unknown as string })],
    ['expiresAt not a number', claims({ expiresAt: 'soon' as unknown as number })],
    ['expiresAt NaN', claims({ expiresAt: Number.NaN })],
    ['expiresAt infinite', claims({ expiresAt: Number.POSITIVE_INFINITY })],
    ['artifactId zero', claims({ artifactId: 0 })],
    ['artifactId negative', claims({ artifactId: -1 })],
    ['artifactId fractional', claims({ artifactId: 1.5 })],
    ['artifactId a string', claims({ artifactId: '7' as unknown as number })],
  ];
  for (const [label, input] of bad) {
    let ticket: string;
    try {
      ticket = s.sign(input);
    } catch {
      t.pass(`${label}: the signer refused it`);
      continue;
    }
    refusedWith(t, v.verify(ticket), ['malformed'], label);
  }
});

// ---------------------------------------------------------------------------------------------
// Expiry

test('expiry: valid before, expired at and after expiresAt', (t) => {
  const clock = { now: T0 };
  const v = verifier(0, clock);
  const ticket = signer().sign(claims({ expiresAt: T0 + 60_000 }));
  t.true(v.verify(ticket).ok, 'now');
  clock.now = T0 + 59_999;
  t.true(v.verify(ticket).ok, '1 ms before expiry');
  clock.now = T0 + 60_000;
  refusedWith(t, v.verify(ticket), ['expired'], 'at expiry');
  clock.now = T0 + 10 * HOUR;
  refusedWith(t, v.verify(ticket), ['expired'], 'long after');
});

test('expiry: an already expired ticket is refused from the start', (t) => {
  const v = verifier(10);
  refusedWith(t, v.verify(signer().sign(claims({ expiresAt: T0 - 1_000 }))), ['expired'], 'expired at signing');
  refusedWith(t, v.verify(signer().sign(claims({ expiresAt: 0 }))), ['expired'], 'epoch');
});

test('expiry: a ticket cached as valid is refused once it expires, and stays refused', (t) => {
  const clock = { now: T0 };
  const v = verifier(10, clock);
  const ticket = signer().sign(claims({ expiresAt: T0 + 5_000 }));
  t.true(v.verify(ticket).ok, 'valid (now cached)');
  t.true(v.verify(ticket).ok, 'valid again (from the cache)');
  clock.now = T0 + 5_000;
  refusedWith(t, v.verify(ticket), ['expired'], 'cached ticket at expiry');
  refusedWith(t, v.verify(ticket), ['expired'], 'again (dropped from the cache)');
  clock.now = T0 + HOUR;
  refusedWith(t, v.verify(ticket), ['expired'], 'much later');
  // Moving the clock back (NTP step) is the only way back to valid: the signature is still good.
  clock.now = T0;
  t.true(v.verify(ticket).ok);
});

// ---------------------------------------------------------------------------------------------
// Cache

test('cache bound: with cacheEntries 2, five different tickets all verify, repeatedly', (t) => {
  const clock = { now: T0 };
  const v = verifier(2, clock);
  const s = signer();
  const tickets = [1, 2, 3, 4, 5].map((n) => ({
    ticket: s.sign(claims({ path: `/product/1.0.${n}/setup.exe`, artifactId: n, expiresAt: T0 + n * 1_000 })),
    expected: claims({ path: `/product/1.0.${n}/setup.exe`, artifactId: n, expiresAt: T0 + n * 1_000 }),
  }));
  for (let round = 0; round < 3; round++) {
    for (const { ticket, expected } of tickets) {
      const verdict = v.verify(ticket);
      t.true(verdict.ok, `round ${round}: ${expected.path}`);
      if (verdict.ok) t.deepEqual(verdict.claims, expected);
    }
    // Reverse order too, so hits on both recently and long-ago cached entries are exercised.
    for (const { ticket, expected } of [...tickets].reverse()) {
      const verdict = v.verify(ticket);
      t.true(verdict.ok, `round ${round} reversed: ${expected.path}`);
      if (verdict.ok) t.deepEqual(verdict.claims, expected);
    }
  }
  // Expire them one by one: each is refused exactly when its own expiry passes.
  for (let n = 1; n <= 5; n++) {
    clock.now = T0 + n * 1_000;
    tickets.forEach(({ ticket }, i) => {
      const verdict = v.verify(ticket);
      if (i + 1 <= n) refusedWith(t, verdict, ['expired'], `ticket ${i + 1} at T0+${n}s`);
      else t.true(verdict.ok, `ticket ${i + 1} at T0+${n}s`);
    });
  }
});

test('cache: cacheEntries 1 and 0 behave like the uncached verifier', (t) => {
  const s = signer();
  const a = s.sign(claims({ path: '/a' }));
  const b = s.sign(claims({ path: '/b' }));
  for (const cacheEntries of [0, 1]) {
    const v = verifier(cacheEntries);
    for (const ticket of [a, b, a, a, b, b, a]) t.true(v.verify(ticket).ok, `cacheEntries ${cacheEntries}`);
  }
});

test('cache: a cached genuine ticket does not make a tampered variant pass', (t) => {
  const v = verifier(10);
  const ticket = signer().sign(claims());
  const [version, payload, signature] = parts(ticket);
  t.true(v.verify(ticket).ok);
  refusedWith(t, v.verify(`${version}.${flipChar(payload, 5)}.${signature}`), ['signature', 'malformed'], 'payload flipped');
  refusedWith(t, v.verify(`${version}.${payload}.${flipChar(signature, 10)}`), ['signature'], 'signature flipped');
  t.true(v.verify(ticket).ok, 'the genuine one still verifies');
});
