/**
 * The web host's metrics under hostile traffic: labels come from route templates (or `unmatched`),
 * never from a path or a method the client chose, and /metrics is served on the operations
 * listener only (loopback by default), not on the public port.
 */
import { randomBytes } from 'node:crypto';
import { Agent, request } from 'node:http';
import test from 'ava';
import { startChain } from './helpers/chain.js';

/** One request with a keep-alive agent; resolves with its status (the body is read and dropped). */
function send(agent: Agent, base: string, method: string, path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(new URL(path, base), { method, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode!));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

/** The sample lines (series) of a Prometheus text answer, and the values of one label across them. */
function series(text: string): string[] {
  return text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
}
function labelValues(lines: string[], metric: string, label: string): Set<string> {
  const values = new Set<string>();
  for (const line of lines) {
    if (!line.startsWith(`${metric}{`)) continue;
    const value = new RegExp(`[{,]${label}="([^"]*)"`).exec(line)?.[1];
    if (value !== undefined) values.add(value);
  }
  return values;
}

test('2000 requests with random paths and methods (404, 405) leave a bounded number of series, labelled by route templates', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  const base = chain.web.httpUrl;
  const metricsText = async () => (await fetch(`${chain.web.opsUrl}/metrics`)).text();
  await send(new Agent(), base, 'GET', '/healthz');
  const before = series(await metricsText()).length;
  const marker = `r${randomBytes(4).toString('hex')}`;
  // A known template with another method (405), unknown paths (404), methods no route takes, for the API and the portal.
  const shapes = [
    (r: string) => ['PUT', `/download/${r}`],
    (r: string) => ['DELETE', `/eula/${r}/accept`],
    (r: string) => ['PATCH', `/api/v1/artifacts/${r}/link`],
    (r: string) => ['GET', `/${r}`],
    (r: string) => ['POST', `/api/v1/${r}/x`],
    (r: string) => ['PROPFIND', `/signin/${r}`],
    (r: string) => ['MKCOL', `/api/v1/stagings/${r}`],
    (r: string) => ['SEARCH', `/downloads?${r}`],
  ];
  const agent = new Agent({ keepAlive: true, maxSockets: 16 });
  t.teardown(() => agent.destroy());
  const statuses = new Set<number>();
  let next = 0;
  const worker = async () => {
    while (next < 2000) {
      const i = next++;
      const [method, path] = shapes[i % shapes.length]!(`${marker}-${i}`) as [string, string];
      statuses.add(await send(agent, base, method, path));
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  t.true(
    [404, 405].every((s) => statuses.has(s)),
    [...statuses].join(' '),
  );
  const text = await metricsText();
  t.false(text.includes(marker), 'no label holds a path the client chose');
  const lines = series(text);
  t.true(lines.length - before < 800, `${lines.length - before} new series`);
  const routes = labelValues(lines, 'ffs_web_http_requests_total', 'route');
  t.true(
    [...routes].every((r) => r === 'unmatched' || /^\/[a-z0-9/:._-]*$/.test(r)),
    [...routes].join(' '),
  );
  t.true(routes.has('unmatched'));
  t.deepEqual([...labelValues(lines, 'ffs_web_http_requests_total', 'method')].sort(), ['DELETE', 'GET', 'PATCH', 'POST', 'PUT', 'other']);
});

test('/metrics is served on the operations listener (loopback by default), not on the public port; /healthz and /readyz on both', async (t) => {
  const chain = await startChain(t, { webHttp: {} });
  t.is(chain.web.opsAddress?.address, '127.0.0.1');
  t.not(chain.web.opsAddress?.port, chain.web.httpAddress?.port);
  const open = await fetch(`${chain.web.httpUrl}/metrics`);
  t.is(open.status, 404, 'not on the public port');
  t.false((await open.text()).includes('ffs_web_'), 'and nothing of it shown');
  const ops = await fetch(`${chain.web.opsUrl}/metrics`);
  t.is(ops.status, 200);
  t.regex(ops.headers.get('content-type') ?? '', /^text\/plain/);
  t.regex(await ops.text(), /ffs_web_http_requests_total\{method="GET",route="unmatched",status="404"\} 1/, 'the public attempt counted as unmatched');
  for (const base of [chain.web.httpUrl, chain.web.opsUrl]) {
    t.is((await fetch(`${base}/healthz`)).status, 200);
    t.is((await fetch(`${base}/readyz`)).status, 200);
  }
  t.is((await fetch(`${chain.web.opsUrl}/api/v1/downloads`)).status, 404, 'the operations listener serves nothing else');
});
