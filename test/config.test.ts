import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { ConfigError, configFields, describeConfig, envName, loadConfig, upperSnake, type Config } from '../lib/config/index.js';
import { HEADER, renderConfigDoc } from '../scripts/gen-config-doc.js';

const cwd = path.resolve('/srv/ffs');
const load = (env: Record<string, string> = {}, overrides = {}) => loadConfig({ env, overrides, cwd });

function configError(t: ExecutionContext, fn: () => unknown): ConfigError {
  const err = t.throws(fn, { instanceOf: ConfigError }) as ConfigError;
  t.is(err.code, 'ERR_CONFIG');
  t.is(err.name, 'ConfigError');
  return err;
}

test('an empty environment loads the defaults', (t) => {
  const c = load();
  t.is(c.dataDir, path.join(cwd, 'var'));
  t.is(c.commlink.fileHostBagPath, path.join(cwd, 'var', 'secrets', 'keybag-file-host'));
  t.is(c.commlink.internalDbBagPath, path.join(cwd, 'var', 'secrets', 'keybag-internal-db'));
  t.is(c.commlink.maxHandshaking, 64);
  t.is(c.commlink.desKeyLimitBytes, 64 * 1024 * 1024);
  t.is(c.commlink.keyCount, 128);
  t.is(c.commlink.suite, 'aes-256-gcm');
  t.deepEqual(c.commlink.acceptSuites, ['aes-256-gcm']);
  t.is(c.commlink.maxPacketLength, 1048576);
  t.is(c.commlink.requestTimeoutMs, 30000);
  t.is(c.commlink.heartbeatIntervalMs, 5000);
  t.is(c.commlink.heartbeatTimeoutMs, 15000);
  t.is(c.commlink.reconnectMinMs, 100);
  t.is(c.commlink.reconnectMaxMs, 10000);
  t.is(c.commlink.maxInFlight, 65536);
  t.is(c.commlink.streamWindowBytes, 4194304);
  t.is(c.rsa.privateKeyPath, path.join(cwd, 'var', 'secrets', 'ticket-rsa.pem'));
  t.is(c.rsa.publicKeyPath, path.join(cwd, 'var', 'secrets', 'ticket-rsa.pub.pem'));
  t.is(c.rsa.bits, 3072);
  t.deepEqual(c.services, {
    web: {
      host: '127.0.0.1',
      port: 8080,
      commlinkPort: 7400,
      workers: 0,
      tlsCertPath: '',
      tlsKeyPath: '',
      hstsSeconds: 31_536_000,
      httpRedirectPort: -1,
      opsHost: '127.0.0.1',
      opsPort: 8090,
      ticketTtlSeconds: 900,
      publicUrl: '',
      sessionKeyPath: path.join(cwd, 'var', 'secrets', 'web-session.key'),
      sessionMinutes: 480,
      secureCookies: 'auto',
      trustProxy: false,
      loginFailuresPerAddress: 10,
      loginFailuresPerLogin: 5,
      loginMaxDelayMs: 3000,
      loginWindowSeconds: 900,
      apiTokenCacheSeconds: 300,
      sessionCheckCacheSeconds: 300,
      maxJsonBytes: 2 * 1024 * 1024,
      maxJsonDepth: 64,
      maxUploadBytes: 64 * 1024 ** 3,
      checkApiResponses: false,
      cryptoThreads: 0,
      poolTicketSigning: true,
      poolChunkCrypto: false,
      webhooks: {
        deliver: true,
        allowHttp: false,
        allowPrivateTargets: false,
        timeoutMs: 10_000,
        retryMinMs: 1000,
        retryMaxMs: 600_000,
        giveUpSeconds: 86_400,
        leaseSeconds: 30,
        keepDeliveriesDays: 30,
      },
    },
    ftp: {
      host: '127.0.0.1',
      name: 'file-1',
      httpPort: 8081,
      publicHttpUrl: '',
      repositoryDir: path.join(cwd, 'var', 'repository'),
      areasDir: path.join(cwd, 'var', 'areas'),
      inboxDir: path.join(cwd, 'var', 'inbox'),
      auditJournalDir: path.join(cwd, 'var', 'audit-journal'),
      allowCrossDevice: false,
      auditBatchSize: 500,
      auditFlushMs: 1000,
      ticketCacheEntries: 10000,
      httpWorkers: 0,
      opsHost: '127.0.0.1',
      opsPort: 0,
      ftpPort: 2121,
      ftpPassivePortMin: 30000,
      ftpPassivePortMax: 30199,
      ftpPassiveAddress: '',
      ftpRequireTls: false,
      ftpTlsCertPath: path.join(cwd, 'var', 'secrets', 'ftp-tls.crt'),
      ftpTlsKeyPath: path.join(cwd, 'var', 'secrets', 'ftp-tls.key'),
      sftpPort: 2222,
      sftpWorkers: 0,
      sftpHostKeyPath: path.join(cwd, 'var', 'secrets', 'ssh-host-ed25519'),
      loginTimeoutSeconds: 30,
      idleTimeoutSeconds: 600,
      maxSessionsPerCustomer: 20,
      maxSessionsPerAddress: 50,
      maxUnauthenticatedConnections: 200,
      sftpMaxAuthAttempts: 10,
      sftpMaxHandles: 64,
      transferIdleSeconds: 60,
      defenderThreshold: 15,
      defenderObservationSeconds: 1800,
      defenderBanSeconds: 1800,
      defenderBanIncrementPercent: 50,
      loginCacheSeconds: 600,
      feedStateDir: path.join(cwd, 'var', 'feed-state'),
      ticketMaxLifetimeSeconds: 86_400,
      openFileCacheMs: 1000,
    },
    internalDb: {
      host: '127.0.0.1',
      commlinkPort: 7402,
      mode: 'listen',
      dialHost: '127.0.0.1',
      dialPort: 7403,
      dbPath: path.join(cwd, 'var', 'internal-db', 'fulfillment.sqlite'),
      synchronous: 'full',
      backupDir: path.join(cwd, 'var', 'backups'),
      backupIntervalMinutes: 0,
      backupKeep: 7,
      scryptLogN: 15,
      authCacheSeconds: 300,
      expiringNoticeHours: 168,
      changeLogDays: 30,
    },
  });
  t.is(c.log.level, 'info');
});

test('cwd defaults to process.cwd() and env to process.env-like input', (t) => {
  const c = loadConfig({ env: {} });
  t.is(c.dataDir, path.resolve(process.cwd(), 'var'));
});

test('environment overrides int, enum, list and nested fields', (t) => {
  const c = load({
    FFS_COMMLINK__KEY_COUNT: '16',
    FFS_COMMLINK__SUITE: 'des-ede3-cbc-hmac-sha256',
    FFS_COMMLINK__ACCEPT_SUITES: 'aes-256-gcm, des-ede3-cbc-hmac-sha256',
    FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT: '9402',
    FFS_SERVICES__INTERNAL_DB__MODE: 'dial',
    FFS_RSA__BITS: '2048',
    FFS_LOG__LEVEL: 'debug',
    PATH: '/usr/bin',
    NOT_FFS_THING: 'ignored',
  });
  t.is(c.commlink.keyCount, 16);
  t.is(c.commlink.suite, 'des-ede3-cbc-hmac-sha256');
  t.deepEqual(c.commlink.acceptSuites, ['aes-256-gcm', 'des-ede3-cbc-hmac-sha256']);
  t.is(c.services.internalDb.commlinkPort, 9402);
  t.is(c.services.internalDb.mode, 'dial');
  t.is(c.services.web.commlinkPort, 7400);
  t.is(c.rsa.bits, 2048);
  t.is(c.log.level, 'debug');
});

test('env names are derived mechanically from the schema', (t) => {
  t.is(upperSnake('internalDb'), 'INTERNAL_DB');
  t.is(upperSnake('keyBagPath'), 'KEY_BAG_PATH');
  t.is(envName(['services', 'internalDb', 'commlinkPort']), 'FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT');
  const envs = configFields().map((f) => f.env);
  for (const name of [
    'FFS_DATA_DIR',
    'FFS_COMMLINK__KEY_COUNT',
    'FFS_COMMLINK__ACCEPT_SUITES',
    'FFS_SERVICES__INTERNAL_DB__COMMLINK_PORT',
    'FFS_RSA__PRIVATE_KEY_PATH',
  ]) {
    t.true(envs.includes(name), name);
  }
  t.is(new Set(envs).size, envs.length, 'env names are unique');
});

test('a bad integer names the field and the variable', (t) => {
  const err = configError(t, () => load({ FFS_COMMLINK__KEY_COUNT: 'abc' }));
  t.is(err.field, 'commlink.keyCount');
  t.is(err.message, 'config: commlink.keyCount must be an integer >= 1 and <= 65536 (got "abc" from FFS_COMMLINK__KEY_COUNT)');
});

test('integer parsing is strict', (t) => {
  for (const raw of ['12abc', '', ' ', '1.5', '0x10', '1e3']) {
    const err = configError(t, () => load({ FFS_COMMLINK__MAX_IN_FLIGHT: raw }));
    t.is(err.field, 'commlink.maxInFlight', raw);
    t.true(err.message.includes('FFS_COMMLINK__MAX_IN_FLIGHT'), raw);
    t.true(err.message.includes(JSON.stringify(raw)), raw);
  }
});

test('out-of-range and bad enum values from env name field and variable', (t) => {
  let err = configError(t, () => load({ FFS_COMMLINK__KEY_COUNT: '0' }));
  t.is(err.message, 'config: commlink.keyCount must be an integer >= 1 and <= 65536 (got "0" from FFS_COMMLINK__KEY_COUNT)');
  err = configError(t, () => load({ FFS_SERVICES__WEB__PORT: '65536' }));
  t.is(err.field, 'services.web.port');
  err = configError(t, () => load({ FFS_COMMLINK__SUITE: 'des' }));
  t.is(err.message, 'config: commlink.suite must be one of aes-256-gcm, des-ede3-cbc-hmac-sha256 (got "des" from FFS_COMMLINK__SUITE)');
  err = configError(t, () => load({ FFS_COMMLINK__ACCEPT_SUITES: 'aes-256-gcm,rot13' }));
  t.is(err.field, 'commlink.acceptSuites');
  t.true(err.message.includes('"aes-256-gcm,rot13" from FFS_COMMLINK__ACCEPT_SUITES'));
  err = configError(t, () => load({ FFS_COMMLINK__ACCEPT_SUITES: '' }));
  t.is(err.field, 'commlink.acceptSuites');
  err = configError(t, () => load({ FFS_RSA__BITS: '1024' }));
  t.is(err.message, 'config: rsa.bits must be one of 2048, 3072, 4096 (got "1024" from FFS_RSA__BITS)');
  err = configError(t, () => load({ FFS_DATA_DIR: '' }));
  t.is(err.field, 'dataDir');
});

test('an FFS_ variable that names no field is rejected', (t) => {
  let err = configError(t, () => load({ FFS_COMMLINK__KEYCOUNT: '5' }));
  t.is(err.field, 'FFS_COMMLINK__KEYCOUNT');
  t.regex(err.message, /FFS_COMMLINK__KEYCOUNT matches no configuration field \(did you mean FFS_COMMLINK__KEY_COUNT\?\)/);
  err = configError(t, () => load({ FFS_COMMLINK: 'x' }));
  t.is(err.field, 'FFS_COMMLINK');
});

test('every problem is reported, one per line', (t) => {
  const err = configError(t, () => load({ FFS_COMMLINK__KEY_COUNT: 'x', FFS_LOG__LEVEL: 'loud', FFS_TYPO: '1' }));
  t.is(err.problems.length, 3);
  t.is(err.message.split('\n').length, 3);
});

test('reconnectMaxMs must be >= reconnectMinMs', (t) => {
  const err = configError(t, () => load({ FFS_COMMLINK__RECONNECT_MIN_MS: '5000', FFS_COMMLINK__RECONNECT_MAX_MS: '1000' }));
  t.is(err.field, 'commlink.reconnectMaxMs');
  t.is(err.message, 'config: commlink.reconnectMaxMs must be >= commlink.reconnectMinMs, which is 5000 (got "1000" from FFS_COMMLINK__RECONNECT_MAX_MS)');
  t.notThrows(() => load({ FFS_COMMLINK__RECONNECT_MIN_MS: '1000', FFS_COMMLINK__RECONNECT_MAX_MS: '1000' }));
  const viaDefault = configError(t, () => load({ FFS_COMMLINK__RECONNECT_MIN_MS: '20000' }));
  t.is(viaDefault.message, 'config: commlink.reconnectMaxMs must be >= commlink.reconnectMinMs, which is 20000 (got 10000 from defaults)');
});

test('services.web HTTPS: a certificate without its key (or a key without its certificate) is refused naming the missing field; a redirect port needs HTTPS', (t) => {
  const noKey = configError(t, () => load({ FFS_SERVICES__WEB__TLS_CERT_PATH: 'web.crt' }));
  t.is(noKey.field, 'services.web.tlsKeyPath');
  t.regex(noKey.message, /^config: services\.web\.tlsKeyPath must be set when services\.web\.tlsCertPath is/);
  const noCert = configError(t, () => load({}, { services: { web: { tlsKeyPath: 'web.key' } } }));
  t.is(noCert.field, 'services.web.tlsCertPath');
  t.regex(noCert.message, /must be set when services\.web\.tlsKeyPath is/);
  const redirect = configError(t, () => load({ FFS_SERVICES__WEB__HTTP_REDIRECT_PORT: '8000' }));
  t.is(redirect.field, 'services.web.httpRedirectPort');
  t.regex(redirect.message, /must be -1 without HTTPS .*\(got "8000" from FFS_SERVICES__WEB__HTTP_REDIRECT_PORT\)$/);
  const both = load({ FFS_SERVICES__WEB__TLS_CERT_PATH: 'web.crt', FFS_SERVICES__WEB__TLS_KEY_PATH: 'web.key', FFS_SERVICES__WEB__HTTP_REDIRECT_PORT: '0' });
  t.is(both.services.web.tlsCertPath, path.join(cwd, 'web.crt'));
  t.is(both.services.web.httpRedirectPort, 0);
});

test('heartbeatTimeoutMs must exceed heartbeatIntervalMs', (t) => {
  const err = configError(t, () => load({}, { commlink: { heartbeatIntervalMs: 20000 } }));
  t.is(err.field, 'commlink.heartbeatTimeoutMs');
});

test('the result is deeply frozen', (t) => {
  const c = load();
  t.true(Object.isFrozen(c));
  t.true(Object.isFrozen(c.commlink));
  t.true(Object.isFrozen(c.commlink.acceptSuites));
  t.true(Object.isFrozen(c.services.internalDb));
  // ES modules are strict: assignment to a frozen property throws.
  t.throws(
    () => {
      (c as { -readonly [K in keyof Config]: Config[K] }).dataDir = '/elsewhere';
    },
    { instanceOf: TypeError },
  );
  t.throws(
    () => {
      (c.services.web as { port: number }).port = 1;
    },
    { instanceOf: TypeError },
  );
  t.throws(
    () => {
      (c.commlink.acceptSuites as string[]).push('des-ede3-cbc-hmac-sha256');
    },
    { instanceOf: TypeError },
  );
});

test('derived paths follow dataDir; paths become absolute', (t) => {
  let c = load({ FFS_DATA_DIR: '/data/ffs' });
  t.is(c.dataDir, '/data/ffs');
  t.is(c.commlink.fileHostBagPath, '/data/ffs/secrets/keybag-file-host');
  t.is(c.commlink.internalDbBagPath, '/data/ffs/secrets/keybag-internal-db');
  t.is(c.rsa.privateKeyPath, '/data/ffs/secrets/ticket-rsa.pem');
  t.is(c.rsa.publicKeyPath, '/data/ffs/secrets/ticket-rsa.pub.pem');
  c = load({ FFS_DATA_DIR: 'state', FFS_COMMLINK__FILE_HOST_BAG_PATH: 'keys/bag' });
  t.is(c.dataDir, path.join(cwd, 'state'));
  t.is(c.commlink.fileHostBagPath, path.join(cwd, 'keys', 'bag'), 'an explicit relative path resolves against cwd');
  t.is(c.rsa.privateKeyPath, path.join(cwd, 'state', 'secrets', 'ticket-rsa.pem'));
  c = load({ FFS_DATA_DIR: '/d', FFS_RSA__PUBLIC_KEY_PATH: '<dataDir>/pub/ticket.pem' });
  t.is(c.rsa.publicKeyPath, '/d/pub/ticket.pem');
  const err = configError(t, () => load({ FFS_DATA_DIR: '<dataDir>/x' }));
  t.is(err.field, 'dataDir');
});

test('the two links cannot share one key bag, and a DES key holds at least one packet', (t) => {
  let err = configError(t, () => load({ FFS_COMMLINK__INTERNAL_DB_BAG_PATH: '<dataDir>/secrets/keybag-file-host' }));
  t.is(err.field, 'commlink.internalDbBagPath');
  t.regex(err.message, /must differ from commlink\.fileHostBagPath/);
  err = configError(t, () => load({ FFS_COMMLINK__DES_KEY_LIMIT_BYTES: '65536', FFS_COMMLINK__MAX_PACKET_LENGTH: '131072' }));
  t.is(err.field, 'commlink.desKeyLimitBytes');
  // The single bag of an earlier version is no setting any more: its variable is named as unknown.
  err = configError(t, () => load({ FFS_COMMLINK__KEY_BAG_PATH: '/x/keybag' }));
  t.regex(err.message, /FFS_COMMLINK__KEY_BAG_PATH/);
});

test('overrides apply after the environment', (t) => {
  const suites = ['des-ede3-cbc-hmac-sha256'] as const;
  const c = load(
    { FFS_COMMLINK__KEY_COUNT: '16', FFS_SERVICES__WEB__PORT: '9000' },
    { commlink: { keyCount: 4, acceptSuites: [...suites] }, services: { web: { port: 0 } }, dataDir: '/o' },
  );
  t.is(c.commlink.keyCount, 4);
  t.deepEqual(c.commlink.acceptSuites, ['des-ede3-cbc-hmac-sha256']);
  t.is(c.services.web.port, 0);
  t.is(c.services.web.commlinkPort, 7400);
  t.is(c.commlink.internalDbBagPath, '/o/secrets/keybag-internal-db');
});

test('override arrays are copied, not frozen in place', (t) => {
  const acceptSuites: ('aes-256-gcm' | 'des-ede3-cbc-hmac-sha256')[] = ['aes-256-gcm'];
  load({}, { commlink: { acceptSuites } });
  t.false(Object.isFrozen(acceptSuites));
});

test('unknown override keys and bad override values are named', (t) => {
  let err = configError(t, () => load({}, { commlink: { keyCnt: 3 } } as never));
  t.is(err.field, 'commlink.keyCnt');
  t.regex(err.message, /commlink\.keyCnt matches no configuration field \(from overrides\); did you mean commlink\.keyCount\?/);
  err = configError(t, () => load({}, { nope: {} } as never));
  t.is(err.field, 'nope');
  err = configError(t, () => load({}, { services: 'x' } as never));
  t.is(err.field, 'services');
  err = configError(t, () => load({}, { commlink: { keyCount: 1.5 } }));
  t.is(err.message, 'config: commlink.keyCount must be an integer >= 1 and <= 65536 (got 1.5 from overrides)');
});

test('describeConfig lists every field with env, default and description', (t) => {
  const list = describeConfig();
  t.is(list.length, configFields().length);
  const keyCount = list.find((f) => f.path === 'commlink.keyCount');
  t.deepEqual(keyCount, {
    path: 'commlink.keyCount',
    env: 'FFS_COMMLINK__KEY_COUNT',
    default: 128,
    description: keyCount?.description ?? '',
    type: 'an integer >= 1 and <= 65536',
  });
  t.is(list.find((f) => f.path === 'commlink.fileHostBagPath')?.default, '<dataDir>/secrets/keybag-file-host');
  t.is(list.find((f) => f.path === 'commlink.internalDbBagPath')?.default, '<dataDir>/secrets/keybag-internal-db');
  for (const f of list) t.true(f.description.length > 0, f.path);
});

test('CONFIG.md names the environment variable of every field (test/generated-docs checks it is up to date)', async (t) => {
  const generated = renderConfigDoc();
  t.true(generated.startsWith(`${HEADER}\n`));
  for (const f of describeConfig()) t.true(generated.includes(`\`${f.env}\``), f.env);
});
