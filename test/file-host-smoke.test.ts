import test from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { publish, startChain } from './helpers/chain.js';

test('stage and download through the real chain', async (t) => {
  const chain = await startChain(t);
  const content = randomBytes(200_000);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: 'correct horse battery' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  t.is(staged.files[0]!.method, 'link');
  const res = await fetch(staged.files[0]!.url);
  t.is(res.status, 200);
  const body = Buffer.from(await res.arrayBuffer());
  t.true(body.equals(content));
  t.is(res.headers.get('x-checksum-sha256'), createHash('sha256').update(content).digest('hex'));
});
