import test from 'ava';
import { randomBytes } from 'node:crypto';
import { Errors, RemoteError, type Body, type Handler } from '../lib/commlink/index.js';
import { ask, type RequestOutcome } from '../lib/contracts/ask.js';
import * as FileHost from '../lib/contracts/file-host/operations.js';
import * as InternalDb from '../lib/contracts/internal-db/index.js';
import { fileHostRegister } from '../lib/contracts/web-gateway.js';
import { CodedError, CommonErrors, isError } from '../lib/errors/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { WebService } from '../services/web/service.js';
import { publish, startChain, ticketKeys, waitFor } from './helpers/chain.js';
import { makeBag, makeClient, startServer } from './helpers/commlink.js';

const ARTIFACT = {
  product: 'acme-db',
  version: '1.0.0',
  channel: 'stable',
  publishedAt: '2026-12-01T00:00:00.000Z',
  artifactId: 1,
  filename: 'acme-db-1.0.0.tar.gz',
  size: 10,
  sha256: 'a'.repeat(64),
  platform: 'any',
  arch: 'any',
  objectId: 'a'.repeat(64),
  eulaId: null,
  eulaAccepted: true,
};

/** A link end that answers every request with `reply` (or fails with `error`), and the outcomes observed. */
function fakeEnd(answer: () => Promise<Body>) {
  const outcomes: RequestOutcome[] = [];
  return { end: { request: answer }, outcomes, observe: (_op: string, _s: number, outcome: RequestOutcome) => void outcomes.push(outcome) };
}

test('ask(): a reply that matches the contract comes back parsed; one that does not is ERR_REPLY_INVALID naming the field', async (t) => {
  const good = fakeEnd(async () => ({ artifacts: [ARTIFACT], next: null }));
  const reply = await ask(good.end, InternalDb.releaseResolve, { customer: 'globex' }, { who: 'the internal-db', observe: good.observe });
  t.deepEqual(reply.artifacts[0], ARTIFACT);
  t.deepEqual(good.outcomes, ['ok']);
  const cases: [string, Body, string][] = [
    ['a wrong type', { artifacts: [{ ...ARTIFACT, size: '10' }], next: null }, 'artifacts.0.size'],
    ['a missing field', { artifacts: [{ ...ARTIFACT, sha256: undefined as never }], next: null }, 'artifacts.0.sha256'],
    ['a field the contract does not name', { artifacts: [{ ...ARTIFACT, internalPath: '/srv/repo' }], next: null }, 'internalPath'],
    ['not an object id', { artifacts: [{ ...ARTIFACT, objectId: '../../etc/passwd' }], next: null }, 'artifacts.0.objectId'],
    ['no list at all', { artifacts: 'all of them', next: null }, 'artifacts'],
    ['a cursor that is not one', { artifacts: [], next: 'not a cursor!' }, 'next'],
  ];
  for (const [what, body, field] of cases) {
    const bad = fakeEnd(async () => body);
    const err = await t.throwsAsync(
      ask(bad.end, InternalDb.releaseResolve, { customer: 'globex' }, { who: 'the internal-db' }),
      { instanceOf: CodedError },
      what,
    );
    t.true(isError(err, Errors.REPLY_INVALID), `${what}: ${err?.message}`);
    t.is((err as CodedError).details.field, field, what);
    t.is((err as CodedError).details.operation, 'release.resolve');
  }
});

test('ask(): the peer’s own answers pass through; a request that does not get through is ERR_GATEWAY_UNAVAILABLE', async (t) => {
  const refused = fakeEnd(async () => {
    throw new RemoteError('ERR_AUTH_REFUSED', 'login refused');
  });
  const err = await t.throwsAsync(ask(refused.end, InternalDb.tokenCheck, { token: 'x'.repeat(20) }, { who: 'the internal-db', observe: refused.observe }));
  t.is((err as CodedError).code, 'ERR_AUTH_REFUSED');
  t.deepEqual(refused.outcomes, ['error']);
  for (const failure of [
    Errors.TIMEOUT('late'),
    Errors.CLOSED('gone'),
    new RemoteError(CommonErrors.GATEWAY_UNAVAILABLE.code, 'a hop beyond is down'),
    new RemoteError(Errors.UNKNOWN_OPERATION.code, 'no such operation here'),
  ]) {
    const broken = fakeEnd(async () => {
      throw failure;
    });
    const e = await t.throwsAsync(
      ask(broken.end, InternalDb.tokenCheck, { token: 'x'.repeat(20) }, { who: 'file host f1', observe: broken.observe, details: { host: 'f1' } }),
    );
    t.true(isError(e, CommonErrors.GATEWAY_UNAVAILABLE), failure.code);
    t.is((e as CodedError).details.cause, failure.code);
    t.is((e as CodedError).details.host, 'f1');
    t.deepEqual(broken.outcomes, ['unavailable']);
  }
});

test('a rogue internal-db: a reply against the contract is refused at the web host (502 ERR_REPLY_INVALID, details only in the log), which keeps serving', async (t) => {
  const bag = makeBag();
  const rogue = await startServer({
    bag,
    handlers: new Map<string, Handler>([
      [InternalDb.tokenCheck.name, () => ({ tokenId: 1, kind: 'customer', customer: 'globex', vendor: null })],
      [InternalDb.releaseResolve.name, () => ({ artifacts: [{ ...ARTIFACT, objectId: '../../../etc/shadow', size: -1 }], next: null })],
      [InternalDb.entitlementsList.name, () => ({ entitlements: [{ id: 1, product: 'acme-db' }], next: null, sql: 'SELECT * FROM customers' })],
    ]),
  });
  t.teardown(() => rogue.server.close(0));
  const web = await WebService.start({
    host: '127.0.0.1',
    commlinkPort: 0,
    internalDb: { mode: 'listen', host: '127.0.0.1', port: rogue.port, dialListenHost: '127.0.0.1', dialListenPort: 0 },
    commlink: {},
    bags: { fileHosts: makeBag(), internalDb: bag },
    ticketPrivateKeyPem: ticketKeys().privateKeyPem,
    ticketTtlSeconds: 60,
    http: { port: 0, opsPort: 0, apiTokenCacheSeconds: 0, sessionKeys: [randomBytes(32).toString('base64')] },
    log: silentLogger,
  });
  t.teardown(() => web.close(0));
  t.true(await web.db.waitConnected(5000));
  const auth = { authorization: `Bearer ${'t'.repeat(24)}` };
  for (const path of ['/api/v1/downloads', '/api/v1/entitlements']) {
    const res = await fetch(`${web.httpUrl}${path}`, { headers: auth });
    t.is(res.status, 502, path);
    const body = (await res.json()) as { error: { code: string; message: string } };
    t.is(body.error.code, 'ERR_REPLY_INVALID', path);
    t.notRegex(body.error.message, /etc|shadow|sql|objectId|SELECT/, 'what the rogue sent stays out of the answer');
  }
  t.is((await fetch(`${web.httpUrl}/healthz`)).status, 200);
});

test('a rogue file host: a staging reply against the contract is refused, and a registration against it is refused too', async (t) => {
  const chain = await startChain(t);
  await publish(chain, '1.0.0', randomBytes(100));
  await chain.call('customer.create', { login: 'globex', name: 'Globex' });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const rogue = makeClient({
    bag: chain.fileHostBag,
    port: chain.web.commlinkAddress.port,
    localAddress: '127.0.0.3',
    handlers: new Map<string, Handler>([
      [FileHost.stage.name, () => ({ files: [{ path: '/../../../../etc/passwd', method: 'symlink', size: 1 }], pruned: [], ms: 1 })],
    ]),
  });
  t.teardown(() => rogue.close(0));
  const badRegistration = await t.throwsAsync(rogue.request(fileHostRegister.name, { name: 'evil host', httpUrl: 'javascript:alert(1)' }));
  t.is((badRegistration as CodedError).code, 'ERR_INVALID_INPUT');
  await rogue.request(fileHostRegister.name, { name: 'rogue', httpUrl: 'http://127.0.0.3:9' });
  await waitFor(() => chain.web.fileHosts.has('rogue'), 5000, 'the rogue file host to be registered');
  const err = await t.throwsAsync(chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0', 'rogue'));
  t.true(isError(err, Errors.REPLY_INVALID), err?.message);
  t.regex((err as CodedError).details.field as string, /^files\.0\.(path|method)$/);
  // The honest file host still stages.
  t.is((await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0', 'file-1')).files.length, 1);
});
