/**
 * What the web host remembers per file host (stagings done moments ago, links signed moments ago)
 * goes when the host leaves: a host that comes back under its name at another URL is never sent a
 * customer with a link to where it was.
 */
import test from 'ava';
import { randomBytes } from 'node:crypto';
import { FileHostService } from '../services/ftp/service.js';
import { api } from './helpers/api.js';
import { chainFileHostOptions, publish, startChain, waitFor } from './helpers/chain.js';

test('a file host restarted at another port: the next link names its new URL, not a reused link to the old one', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  const content = randomBytes(200_000);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const token = (await chain.call('token.create', { kind: 'customer', owner: 'globex' })).token as string;
  const { artifacts } = (await api(chain, 'GET', '/api/v1/downloads', { token })).body as { artifacts: { artifactId: number }[] };
  const linkPath = `/api/v1/artifacts/${artifacts[0]!.artifactId}/link`;
  const before = await api(chain, 'GET', linkPath, { token });
  t.true((before.body.url as string).startsWith(`${chain.fileHost.httpUrl}/files/`));
  t.is((await api(chain, 'GET', linkPath, { token })).body.url, before.body.url, 'moments later the same link is handed out again');

  await chain.fileHost.close(0);
  await waitFor(() => !chain.web.fileHosts.has('file-1'), 5000, 'the web host to see file-1 leave');
  const gone = await api(chain, 'GET', linkPath, { token });
  t.is(gone.status, 503);
  t.is((gone.body.error as { code: string }).code, 'ERR_NO_FILE_HOST', 'no link to a host that is gone');

  const restarted = await FileHostService.start(chainFileHostOptions(chain));
  t.teardown(() => restarted.close(0));
  t.not(restarted.httpUrl, chain.fileHost.httpUrl);
  await waitFor(() => chain.web.fileHosts.has('file-1'), 5000, 'file-1 to register again');
  const after = await api(chain, 'GET', linkPath, { token });
  t.is(after.status, 200, after.text);
  t.true((after.body.url as string).startsWith(`${restarted.httpUrl}/files/`), after.body.url as string);
  const res = await fetch(after.body.url as string);
  t.is(res.status, 200);
  t.true(Buffer.from(await res.arrayBuffer()).equals(content));
});
