/**
 * The portal's sign-in limits under attack, against the real chain: clients on several loopback
 * addresses (127.0.0.2, 127.0.0.3 …), the web host seeing each as its own (trustProxy off).
 */
import test from 'ava';
import { csrfOf, PASSWORD, PortalClient, portalSetup } from './helpers/browser.js';
import { authChecksSent } from './helpers/chain.js';

test('60 wrong sign-ins sent at once from one address: at most loginFailuresPerAddress reach the password check, the others are 429 at once', async (t) => {
  const limits = { loginFailuresPerAddress: 10, loginFailuresPerLogin: 5, loginMaxDelayMs: 20, loginWindowSeconds: 600 };
  const { chain } = await portalSetup(t, { webHttp: limits });
  const attacker = new PortalClient(chain.web.httpUrl, '127.0.0.2');
  const csrf = csrfOf((await attacker.get('/signin')).text); // one sign-in token serves every attempt
  const before = await authChecksSent(chain);
  const answers = await Promise.all(Array.from({ length: 60 }, (_, i) => attacker.post('/signin', { csrf, login: 'globex', password: `guess ${i}` })));
  const checked = (await authChecksSent(chain)) - before;
  t.true(checked <= limits.loginFailuresPerAddress, `${checked} of 60 sign-ins reached the password check`);
  t.is(answers.filter((a) => a.status === 422).length, checked, 'each checked one refused');
  t.is(answers.filter((a) => a.status === 429).length, 60 - checked, 'the rest limited before any check');
  t.true(answers.filter((a) => a.status === 429).every((a) => Number(a.headers.get('retry-after')) > 0));
  const again = await attacker.signIn('globex', PASSWORD);
  t.is(again.status, 429, 'the address stays limited, whatever the password');
  t.is((await authChecksSent(chain)) - before, checked, 'and costs no check');
});

test('a burst of wrong passwords for a login from one address does not lock the customer out: the right password from another address signs in', async (t) => {
  const limits = { loginFailuresPerAddress: 8, loginFailuresPerLogin: 3, loginMaxDelayMs: 50, loginWindowSeconds: 600 };
  const { chain } = await portalSetup(t, { webHttp: limits });
  const attacker = new PortalClient(chain.web.httpUrl, '127.0.0.2');
  const csrf = csrfOf((await attacker.get('/signin')).text);
  const burst: number[] = [];
  for (let i = 0; i < 12; i++) burst.push((await attacker.post('/signin', { csrf, login: 'globex', password: `guess ${i}` })).status);
  // The login has had 8 failures: its next sign-ins are held back (at most loginMaxDelayMs), never refused.
  const customer = new PortalClient(chain.web.httpUrl, '127.0.0.3');
  const signedIn = await customer.signIn('globex', PASSWORD);
  t.is(signedIn.status, 303, signedIn.text.slice(0, 300));
  t.is(signedIn.location, '/downloads');
  t.is((await customer.get('/downloads')).status, 200);
  t.deepEqual(burst, [...Array<number>(8).fill(422), ...Array<number>(4).fill(429)], 'the attacking address is limited after 8 failures');
  const wrongElsewhere = await new PortalClient(chain.web.httpUrl, '127.0.0.4').signIn('globex', 'not it');
  t.is(wrongElsewhere.status, 422, 'a third address is checked (and refused), not rate limited');
  t.is((await attacker.signIn('globex', PASSWORD)).status, 429, 'the attacking address is still limited');
});

test('right sign-ins sent at once from one address (an office behind one NAT) all get in, however many more than the failures allowed', async (t) => {
  const { chain } = await portalSetup(t, { webHttp: { loginFailuresPerAddress: 3, loginWindowSeconds: 600 } });
  const office = new PortalClient(chain.web.httpUrl, '127.0.0.7');
  const csrf = csrfOf((await office.get('/signin')).text);
  const answers = await Promise.all(Array.from({ length: 12 }, () => office.clone().post('/signin', { csrf, login: 'globex', password: PASSWORD })));
  t.deepEqual(
    answers.map((a) => a.status),
    Array<number>(12).fill(303),
  );
});
