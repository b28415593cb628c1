import test from 'ava';
import { MAX_STAGINGS, StagedCache } from '../services/web/staged-cache.js';
import { MAX_LINKS_PER_HOST, TicketReuse } from '../services/web/ticket-reuse.js';
import { waitFor } from './helpers/wait.js';

const alive = () => true;

test('StagedCache: by customer and release; an entry whose file host is gone is dropped; drop by customer or by host', (t) => {
  const cache = new StagedCache<string>(60_000);
  cache.set('globex', 'db\u00001.0', 'file-1', 'globex db 1.0');
  cache.set('globex', 'db\u00002.0', 'file-2', 'globex db 2.0');
  cache.set('initech', 'db\u00001.0', 'file-1', 'initech db 1.0');
  t.is(cache.get('globex', 'db\u00001.0', alive), 'globex db 1.0');
  t.is(cache.get('globex', 'db\u00003.0', alive), undefined);
  t.is(
    cache.get('globex', 'db\u00002.0', (host) => host !== 'file-2'),
    undefined,
    'its file host is gone',
  );
  t.is(cache.get('globex', 'db\u00002.0', alive), undefined, 'and the entry with it');
  cache.dropCustomer('globex');
  t.is(cache.get('globex', 'db\u00001.0', alive), undefined);
  t.is(cache.get('initech', 'db\u00001.0', alive), 'initech db 1.0', 'other customers stay');
  cache.set('globex', 'db\u00001.0', 'file-2', 'globex db 1.0');
  cache.dropHost('file-1');
  t.is(cache.get('initech', 'db\u00001.0', alive), undefined);
  t.is(cache.get('globex', 'db\u00001.0', alive), 'globex db 1.0', 'other hosts stay');
  cache.clear();
  t.is(cache.get('globex', 'db\u00001.0', alive), undefined);
});

test('StagedCache: entries expire; with ttlMs 0 nothing is remembered; at most MAX_STAGINGS, the least recently used going first', async (t) => {
  const short = new StagedCache<string>(30);
  short.set('globex', 'db\u00001.0', 'file-1', 'staged');
  t.is(short.get('globex', 'db\u00001.0', alive), 'staged');
  await waitFor(() => short.get('globex', 'db\u00001.0', alive) === undefined, 5000, 'the staging to expire');
  const off = new StagedCache<string>(0);
  off.set('globex', 'db\u00001.0', 'file-1', 'staged');
  t.is(off.get('globex', 'db\u00001.0', alive), undefined);
  const full = new StagedCache<number>(60_000);
  for (let i = 0; i < MAX_STAGINGS; i++) full.set(`c${i}`, 'db\u00001.0', 'file-1', i);
  t.is(full.get('c0', 'db\u00001.0', alive), 0, 'c0 is now the most recently used');
  full.set('one-more', 'db\u00001.0', 'file-1', MAX_STAGINGS);
  t.is(full.get('c1', 'db\u00001.0', alive), undefined, 'the least recently used made room');
  t.is(full.get('c0', 'db\u00001.0', alive), 0);
  t.is(full.get('one-more', 'db\u00001.0', alive), MAX_STAGINGS);
});

function signer() {
  let signatures = 0;
  const sign = async () => ({ url: `https://file-1/x?ticket=${++signatures}`, expiresAt: 0 });
  return { sign, signatures: () => signatures };
}

test('TicketReuse: concurrent requests share one signature, later ones reuse it until it is reuseMs old', async (t) => {
  const reuse = new TicketReuse(50);
  const { sign, signatures } = signer();
  const links = await Promise.all(Array.from({ length: 5 }, () => reuse.get('file-1', 'globex/a', sign)));
  t.is(signatures(), 1);
  t.true(links.every((link) => link.url === links[0]!.url));
  t.is((await reuse.get('file-1', 'globex/a', sign)).url, links[0]!.url);
  await reuse.get('file-1', 'globex/b', sign);
  t.is(signatures(), 2, 'another file: another signature');
  await waitFor(async () => (await reuse.get('file-1', 'globex/a', sign)).url !== links[0]!.url, 5000, 'a fresh signature once the link is old');
});

test('TicketReuse: a failed signature is shared by those waiting on it but never remembered', async (t) => {
  const reuse = new TicketReuse(60_000);
  let attempts = 0;
  let fail!: (err: Error) => void;
  const failing = () => {
    attempts++;
    return new Promise<never>((_resolve, reject) => (fail = reject));
  };
  const waiting = [reuse.get('file-1', 'globex/a', failing), reuse.get('file-1', 'globex/a', failing)];
  fail(new Error('signing failed'));
  for (const attempt of waiting) await t.throwsAsync(attempt, { message: 'signing failed' });
  t.is(attempts, 1);
  const { sign, signatures } = signer();
  t.regex((await reuse.get('file-1', 'globex/a', sign)).url, /ticket=1$/);
  t.is(signatures(), 1, 'the failure was forgotten: signed again');
});

test('TicketReuse: a file host that leaves takes its links with it; at most MAX_LINKS_PER_HOST per host', async (t) => {
  const reuse = new TicketReuse(60_000);
  const { sign, signatures } = signer();
  await reuse.get('file-1', 'globex/a', sign);
  await reuse.get('file-2', 'globex/a', sign);
  reuse.dropHost('file-1');
  await reuse.get('file-1', 'globex/a', sign);
  await reuse.get('file-2', 'globex/a', sign);
  t.is(signatures(), 3, 'only the host that left signs again');
  for (let i = 0; i < MAX_LINKS_PER_HOST; i++) void reuse.get('file-3', `c${i}`, sign);
  const before = signatures();
  await reuse.get('file-3', 'c0', sign); // the most recently used now
  void reuse.get('file-3', 'one-more', sign);
  await reuse.get('file-3', 'c0', sign);
  t.is(signatures(), before + 1, 'c0 stayed');
  await reuse.get('file-3', 'c1', sign);
  t.is(signatures(), before + 2, 'c1, the least recently used, made room');
  reuse.clear();
  await reuse.get('file-2', 'globex/a', sign);
  t.is(signatures(), before + 3, 'clear forgets everything');
});
