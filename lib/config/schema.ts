import { z } from 'zod';
import { HTTP_BASE_URL, hostName } from '../contracts/names.js';

/** Empty (derive it), or a base URL. */
const EMPTY_OR_HTTP_BASE_URL = new RegExp(`^$|${HTTP_BASE_URL.source}`);

/**
 * The configuration schema: every field, its type, range, default and meaning, in one place.
 * Everything else (environment names, docs, path resolution) is derived from it by walking it
 * (see fields.ts), so adding a field here is all it takes.
 *
 * Conventions the walker relies on:
 * - a section is a strict object wrapped in `.prefault({})`, so its fields' defaults apply when the
 *   section is absent;
 * - a field is a leaf schema with `.default(...)` and `.describe(...)`;
 * - a path field is made with `pathField`; its value is made absolute at load, and a leading
 *   `<dataDir>/` stands for the (absolute) data directory.
 */

/** Marks fields whose value is a filesystem path (resolved to an absolute path at load). */
export interface FieldKind {
  kind: 'path';
}
export const fieldKinds = z.registry<FieldKind>();

/** The token a path may start with to mean "inside the data directory". */
export const DATA_DIR_TOKEN = '<dataDir>';

export const SUITES = ['aes-256-gcm', 'des-ede3-cbc-hmac-sha256'] as const;
export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export const RSA_BITS = [2048, 3072, 4096] as const;

function pathField(defaultValue: string, description: string) {
  return z.string().min(1).default(defaultValue).describe(description).register(fieldKinds, { kind: 'path' });
}

/** A path that may be left empty (the feature it names is then off); a non-empty one is made absolute like any path. */
function optionalPathField(description: string) {
  return z.string().default('').describe(description).register(fieldKinds, { kind: 'path' });
}

function intField(min: number, max: number, defaultValue: number, description: string) {
  return z.int().min(min).max(max).default(defaultValue).describe(description);
}

function hostField(description: string) {
  return z.string().min(1).default('127.0.0.1').describe(description);
}

const suite = z.enum(SUITES);

/**
 * The commlink section's fields, without the rules that join two of them (`commlinkRuleBreaks`).
 * lib/commlink/options.ts takes its connection options' defaults and bounds from here: a bound or
 * a default is written once, for the configuration and the library alike.
 */
export const commlinkFields = z.strictObject({
  fileHostBagPath: pathField(
    `${DATA_DIR_TOKEN}/secrets/keybag-file-host`,
    'Key bag of the web host ↔ file host link: on the web host and the file hosts only (mode 0600; made by scripts/gen-keybag).',
  ),
  internalDbBagPath: pathField(
    `${DATA_DIR_TOKEN}/secrets/keybag-internal-db`,
    'Key bag of the web host ↔ internal-db link: on the web host and the internal host only (mode 0600; made by scripts/gen-keybag).',
  ),
  keyCount: intField(1, 65536, 128, 'Number of keys scripts/gen-keybag puts in a new bag.'),
  suite: suite.default('aes-256-gcm').describe('Cipher suite a dialling end offers.'),
  acceptSuites: z.array(suite).min(1).default(['aes-256-gcm']).describe('Cipher suites a listening end accepts.'),
  maxPacketLength: intField(1024, 16 * 1024 * 1024, 1024 * 1024, 'Longest packet line accepted, in bytes (CR LF excluded).'),
  requestTimeoutMs: intField(1, 3_600_000, 30_000, 'How long a request waits for its reply, in ms.'),
  heartbeatIntervalMs: intField(100, 600_000, 5_000, 'Time between heartbeats on an idle connection, in ms.'),
  heartbeatTimeoutMs: intField(100, 3_600_000, 15_000, 'Silence after which a connection is declared dead, in ms (greater than heartbeatIntervalMs).'),
  reconnectMinMs: intField(10, 600_000, 100, 'First delay before redialling a lost connection, in ms.'),
  reconnectMaxMs: intField(10, 3_600_000, 10_000, 'Longest delay between redials (backoff cap), in ms (>= reconnectMinMs).'),
  maxInFlight: intField(1, 1_000_000, 65_536, 'Requests a connection may have awaiting replies at once.'),
  streamWindowBytes: intField(65_536, 256 * 1024 * 1024, 4 * 1024 * 1024, 'Flow-control window of one bulk stream, in bytes.'),
  handshakeTimeoutMs: intField(100, 600_000, 10_000, 'How long a new connection may take to complete the hello exchange, in ms; then it is closed.'),
  maxHandshaking: intField(
    1,
    100_000,
    64,
    'Connections a commlink listener holds in the hello exchange at once (each may hold a partial line of at most 1024 bytes); ' +
      'more are refused at once. Authenticated connections do not count.',
  ),
  refusalLogLines: intField(
    1,
    100_000,
    20,
    'Warn lines a commlink end writes about refused connections per refusalLogIntervalMs; the rest are counted, and one line per interval says how many.',
  ),
  refusalLogIntervalMs: intField(100, 3_600_000, 60_000, 'Interval of refusalLogLines, in ms.'),
  desKeyLimitBytes: intField(
    65_536,
    1024 * 1024 * 1024,
    64 * 1024 * 1024,
    'Bytes the des-ede3-cbc-hmac-sha256 suite seals under one key (64-bit block: Sweet32): a sender moves to the next key before, ' +
      'a receiver closes a peer that passes it. Both ends must agree; at least maxPacketLength.',
  ),
});

/** The commlink's links and the field that names each one's key bag: a host holds the bags of its own links only. */
export const COMMLINK_BAG_FIELDS = { fileHost: 'fileHostBagPath', internalDb: 'internalDbBagPath' } as const satisfies Record<
  string,
  keyof z.output<typeof commlinkFields>
>;
export type CommlinkLink = keyof typeof COMMLINK_BAG_FIELDS;

/** The commlink fields that the rules between fields read. */
export type CommlinkRuleFields = Pick<
  z.output<typeof commlinkFields>,
  'reconnectMinMs' | 'reconnectMaxMs' | 'heartbeatIntervalMs' | 'heartbeatTimeoutMs' | 'desKeyLimitBytes' | 'maxPacketLength'
>;

/** A rule between two commlink fields that a value breaks: the field to blame and why. */
export interface CommlinkRuleBreak {
  readonly field: 'reconnectMaxMs' | 'heartbeatTimeoutMs' | 'desKeyLimitBytes';
  readonly input: number;
  readonly message: string;
}

/**
 * The rules between commlink fields that `c` breaks. Messages name the other field as
 * `${prefix}${name}`: 'commlink.' in the configuration, 'options.' in lib/commlink.
 */
export function commlinkRuleBreaks(c: CommlinkRuleFields, prefix: string): CommlinkRuleBreak[] {
  const breaks: CommlinkRuleBreak[] = [];
  if (c.reconnectMaxMs < c.reconnectMinMs) {
    breaks.push({ field: 'reconnectMaxMs', input: c.reconnectMaxMs, message: `must be >= ${prefix}reconnectMinMs, which is ${c.reconnectMinMs}` });
  }
  if (c.heartbeatTimeoutMs <= c.heartbeatIntervalMs) {
    breaks.push({
      field: 'heartbeatTimeoutMs',
      input: c.heartbeatTimeoutMs,
      message: `must be > ${prefix}heartbeatIntervalMs, which is ${c.heartbeatIntervalMs}`,
    });
  }
  if (c.desKeyLimitBytes < c.maxPacketLength) {
    // One packet must fit under one key: a sender can move to the next key only between packets.
    breaks.push({ field: 'desKeyLimitBytes', input: c.desKeyLimitBytes, message: `must be >= ${prefix}maxPacketLength, which is ${c.maxPacketLength}` });
  }
  return breaks;
}

/** The services.web fields that the TLS rules read. */
export interface WebTlsRuleFields {
  readonly tlsCertPath: string;
  readonly tlsKeyPath: string;
  readonly httpRedirectPort: number;
}

/** A rule between the web host's TLS fields that a value breaks: the field to blame and why. */
export interface WebTlsRuleBreak {
  readonly field: 'tlsCertPath' | 'tlsKeyPath' | 'httpRedirectPort';
  readonly input: string | number;
  readonly message: string;
}

/** The TLS rules of services.web that `w` breaks: a certificate and its key come together; a redirect listener needs HTTPS to send to. */
export function webTlsRuleBreaks(w: WebTlsRuleFields): WebTlsRuleBreak[] {
  const breaks: WebTlsRuleBreak[] = [];
  if (w.tlsCertPath !== '' && w.tlsKeyPath === '') {
    breaks.push({ field: 'tlsKeyPath', input: w.tlsKeyPath, message: 'must be set when services.web.tlsCertPath is (HTTPS needs both)' });
  }
  if (w.tlsKeyPath !== '' && w.tlsCertPath === '') {
    breaks.push({ field: 'tlsCertPath', input: w.tlsCertPath, message: 'must be set when services.web.tlsKeyPath is (HTTPS needs both)' });
  }
  if (w.httpRedirectPort >= 0 && (w.tlsCertPath === '' || w.tlsKeyPath === '')) {
    breaks.push({
      field: 'httpRedirectPort',
      input: w.httpRedirectPort,
      message: 'must be -1 without HTTPS (the redirect listener sends plain HTTP to HTTPS; set services.web.tlsCertPath and tlsKeyPath)',
    });
  }
  return breaks;
}

const commlink = commlinkFields
  .superRefine((c, ctx) => {
    for (const { field, input, message } of commlinkRuleBreaks(c, 'commlink.')) ctx.addIssue({ code: 'custom', path: [field], input, message });
    if (c.internalDbBagPath === c.fileHostBagPath) {
      // One bag for both links would let a file host's bag open the internal-db's link.
      ctx.addIssue({ code: 'custom', path: ['internalDbBagPath'], input: c.internalDbBagPath, message: 'must differ from commlink.fileHostBagPath' });
    }
  })
  .prefault({});

const rsa = z
  .strictObject({
    privateKeyPath: pathField(`${DATA_DIR_TOKEN}/secrets/ticket-rsa.pem`, 'Ticket-signing RSA private key, PKCS#8 PEM (mode 0600; made by scripts/gen-rsa).'),
    publicKeyPath: pathField(`${DATA_DIR_TOKEN}/secrets/ticket-rsa.pub.pem`, 'Ticket-verifying RSA public key, SPKI PEM.'),
    bits: z.literal(RSA_BITS).default(3072).describe('Modulus size of a new RSA key pair, in bits.'),
  })
  .prefault({});

const services = z
  .strictObject({
    web: z
      .strictObject({
        host: hostField('Address the web service listens on (HTTP and commlink).'),
        port: intField(0, 65535, 8080, 'HTTP port of the web service (0: any free port).'),
        commlinkPort: intField(0, 65535, 7400, 'Commlink port of the web service (file hosts dial it).'),
        workers: intField(
          0,
          64,
          0,
          "Processes serving the portal and the API on the HTTP port (0: one per CPU core; 1: the web host's own process, no worker processes).",
        ),
        tlsCertPath: optionalPathField(
          'Certificate chain (PEM) of the HTTPS listener; with tlsKeyPath, the HTTP port serves HTTPS (HTTP/1.1 and HTTP/2 by ALPN). Empty: plain HTTP.',
        ),
        tlsKeyPath: optionalPathField('Private key (PEM, mode 0600) of tlsCertPath.'),
        hstsSeconds: intField(0, 63_072_000, 31_536_000, 'Strict-Transport-Security max-age sent on HTTPS answers, in seconds (0: no header).'),
        httpRedirectPort: intField(
          -1,
          65535,
          -1,
          'With HTTPS: a plain-HTTP listener on this port that only redirects to the HTTPS URL (-1: none; 0: any free port).',
        ),
        opsHost: hostField('Address of the operations listener (/metrics, /healthz, /readyz); loopback by default: metrics are not public.'),
        opsPort: intField(0, 65535, 8090, 'Port of the operations listener, which alone serves /metrics (0: any free port).'),
        ticketTtlSeconds: intField(10, 86_400, 900, 'Lifetime of a signed download ticket, in seconds.'),
        publicUrl: z
          .string()
          .regex(EMPTY_OR_HTTP_BASE_URL, 'empty, or http(s)://host[:port] with no path')
          .default('')
          .describe('Base URL people use for the portal and the API (empty: http://host:port).'),
        sessionKeyPath: pathField(
          `${DATA_DIR_TOKEN}/secrets/web-session.key`,
          'Keys that sign portal session cookies (mode 0600; made by scripts/gen-session-key).',
        ),
        sessionMinutes: intField(5, 43_200, 480, 'A portal session ends this long after sign-in, in minutes.'),
        secureCookies: z
          .enum(['auto', 'always', 'never'])
          .default('auto')
          .describe('Secure flag on cookies: auto sets it over HTTPS and on loopback addresses (browsers accept it there); always; never.'),
        trustProxy: z
          .boolean()
          .default(false)
          .describe(
            'Trust X-Forwarded-For and X-Forwarded-Proto from the one reverse proxy in front of the web host (HAProxy: scripts/haproxy/); ' +
              'the client is the last address of X-Forwarded-For, the one that proxy appended.',
          ),
        loginFailuresPerAddress: intField(
          1,
          10_000,
          10,
          'Failed portal sign-ins one client address may make within loginWindowSeconds before it is refused (429).',
        ),
        loginFailuresPerLogin: intField(
          1,
          10_000,
          5,
          'Failed portal sign-ins for one login (from any address) within loginWindowSeconds before its sign-ins are held back: ' +
            '250 ms, doubling with each further failure, up to loginMaxDelayMs (never refused: that would let anyone lock a customer out).',
        ),
        loginMaxDelayMs: intField(0, 60_000, 3000, 'Longest a portal sign-in for a login with failures past loginFailuresPerLogin is held back, in ms.'),
        loginWindowSeconds: intField(1, 86_400, 900, 'Window of the portal sign-in rate limits, in seconds.'),
        apiTokenCacheSeconds: intField(
          0,
          3600,
          300,
          'How long a checked API token is remembered (the change feed forgets it within a second of its revocation or its owner being disabled); ' +
            '0: check every request.',
        ),
        sessionCheckCacheSeconds: intField(
          0,
          3600,
          300,
          "How long the internal-db's answer that a portal session is live is remembered (the change feed forgets it within a second of a sign-out, " +
            'a password change or a disable); 0: check every request.',
        ),
        maxJsonBytes: intField(1024, 64 * 1024 * 1024, 2 * 1024 * 1024, 'Largest JSON or form request body accepted, in bytes (413 beyond).'),
        maxJsonDepth: intField(1, 1000, 64, 'Deepest nesting of arrays and objects a JSON request body may have (400 beyond, refused before it is parsed).'),
        maxUploadBytes: intField(1, Number.MAX_SAFE_INTEGER, 64 * 1024 * 1024 * 1024, 'Largest artifact upload accepted, in bytes (413 beyond).'),
        checkApiResponses: z
          .boolean()
          .default(false)
          .describe('Check every REST API answer against the schema the OpenAPI document gives it (a mismatch is a 500); for tests and staging, it costs CPU.'),
        cryptoThreads: intField(0, 64, 0, 'Threads of the crypto pool (lib/crypto-pool), when anything is offloaded to it (0: one per CPU core).'),
        poolTicketSigning: z
          .boolean()
          .default(true)
          .describe('Sign download tickets (RSA) in the crypto pool, off the event loop (measured to win: bench/results/crypto-pool.md).'),
        poolChunkCrypto: z
          .boolean()
          .default(false)
          .describe('Seal and open commlink upload chunks in the crypto pool (measured to lose on 2 cores: off; measure before turning it on).'),
        webhooks: z
          .strictObject({
            deliver: z
              .boolean()
              .default(true)
              .describe('Deliver webhook events from this web host (several may: a lease in the internal-db gives each endpoint one deliverer).'),
            allowHttp: z.boolean().default(false).describe('Accept http:// webhook endpoints (default: https only).'),
            allowPrivateTargets: z
              .boolean()
              .default(false)
              .describe('Accept webhook targets in loopback, private, link-local, CGNAT, unspecified or multicast ranges (refused by default: SSRF).'),
            timeoutMs: intField(1000, 120_000, 10_000, 'How long one webhook delivery attempt may take (connect, send, answer), in ms.'),
            retryMinMs: intField(10, 3_600_000, 1000, 'The first retry delay of a failed webhook delivery, in ms; it doubles (with jitter) up to retryMaxMs.'),
            retryMaxMs: intField(10, 86_400_000, 600_000, 'The longest delay between two attempts of a webhook delivery, in ms.'),
            giveUpSeconds: intField(
              1,
              30 * 86_400,
              86_400,
              'A webhook endpoint whose deliveries have failed this long (since the first failure) is disabled, with the reason; its owner enables it again.',
            ),
            leaseSeconds: intField(
              2,
              600,
              30,
              'How long a web host holds the right to deliver to an endpoint (renewed every third of it): a dead host is taken over after this.',
            ),
            keepDeliveriesDays: intField(1, 3650, 30, 'How long the webhook delivery log (each attempt) is kept, in days.'),
          })
          .prefault({}),
      })
      .superRefine((w, ctx) => {
        for (const { field, input, message } of webTlsRuleBreaks(w)) ctx.addIssue({ code: 'custom', path: [field], input, message });
      })
      .prefault({}),
    ftp: z
      .strictObject({
        host: hostField('Address the file host listens on (HTTP downloads; FTP and SFTP next).'),
        name: hostName.default('file-1').describe('Name of this file host, unique among the file hosts of one web host.'),
        httpPort: intField(0, 65535, 8081, 'HTTP download port of the file host (0: any free port).'),
        publicHttpUrl: z
          .string()
          .regex(EMPTY_OR_HTTP_BASE_URL, 'empty, or http(s)://host[:port] with no path')
          .default('')
          .describe('Base URL customers use for HTTP downloads (empty: http://host:httpPort).'),
        repositoryDir: pathField(`${DATA_DIR_TOKEN}/repository`, 'Content-addressed repository of read-only objects (same filesystem as areasDir).'),
        areasDir: pathField(`${DATA_DIR_TOKEN}/areas`, 'Customer areas: areas/<customer>/<product>/<version>/<file>, hard links into the repository.'),
        inboxDir: pathField(`${DATA_DIR_TOKEN}/inbox`, 'Vendor inbox: files placed here are ingested into the repository by name.'),
        auditJournalDir: pathField(
          `${DATA_DIR_TOKEN}/audit-journal`,
          'Where the file host keeps transfer outcomes not yet recorded (a killed file host sends them at its next start).',
        ),
        allowCrossDevice: z
          .boolean()
          .default(false)
          .describe('Start even when repository and areas are on different filesystems (staging then copies; off: refuse to start).'),
        auditBatchSize: intField(1, 10_000, 500, 'Transfer outcomes sent to the internal-db in one batch.'),
        auditFlushMs: intField(10, 60_000, 1000, 'Longest time a transfer outcome waits before its batch is sent, in ms.'),
        ticketCacheEntries: intField(0, 1_000_000, 10_000, 'Verified download tickets remembered until they expire (0: verify every request).'),
        httpWorkers: intField(0, 64, 0, 'HTTP download worker processes sharing the download port (0: one per CPU core).'),
        opsHost: hostField("Address of the file host's operations listener (/metrics, /healthz); loopback by default: metrics are not public."),
        opsPort: intField(-1, 65535, 0, "Port of the file host's operations listener (0: any free port, logged at start; -1: no listener)."),
        ftpPort: intField(0, 65535, 2121, 'FTP control port (0: any free port).'),
        ftpPassivePortMin: intField(
          1024,
          65535,
          30000,
          'First port of the FTP passive-mode range (keep it outside the ephemeral range, 32768-60999 on Linux).',
        ),
        ftpPassivePortMax: intField(1024, 65535, 30199, 'Last port of the FTP passive-mode range (>= ftpPassivePortMin).'),
        ftpPassiveAddress: z.string().default('').describe('Address announced to FTP clients for passive connections (empty: the host address).'),
        ftpRequireTls: z.boolean().default(false).describe('Refuse FTP logins that did not first switch to TLS (AUTH TLS).'),
        ftpTlsCertPath: pathField(`${DATA_DIR_TOKEN}/secrets/ftp-tls.crt`, 'FTPS certificate (PEM; made by scripts/gen-host-keys).'),
        ftpTlsKeyPath: pathField(`${DATA_DIR_TOKEN}/secrets/ftp-tls.key`, 'FTPS private key (PEM, mode 0600; made by scripts/gen-host-keys).'),
        sftpPort: intField(0, 65535, 2222, 'SFTP (SSH) port (0: any free port).'),
        sftpWorkers: intField(0, 64, 0, 'SFTP worker processes sharing the SFTP port (0: one per CPU core).'),
        sftpHostKeyPath: pathField(`${DATA_DIR_TOKEN}/secrets/ssh-host-ed25519`, 'SSH host key (OpenSSH format, mode 0600; made by scripts/gen-host-keys).'),
        loginTimeoutSeconds: intField(1, 600, 30, 'Time a client has to log in after connecting, in seconds.'),
        idleTimeoutSeconds: intField(10, 86_400, 600, 'An FTP or SFTP session idle this long is closed, in seconds.'),
        maxSessionsPerCustomer: intField(1, 10_000, 20, 'FTP and SFTP sessions one customer may have open at once.'),
        maxSessionsPerAddress: intField(1, 10_000, 50, 'FTP and SFTP connections one client address may have open at once.'),
        maxUnauthenticatedConnections: intField(
          1,
          100_000,
          200,
          'Connections not yet logged in that may be open at once, from every address together, counted for FTP and SFTP apart; ' +
            'more are closed at TCP accept.',
        ),
        sftpMaxAuthAttempts: intField(
          1,
          100,
          10,
          'Authentication requests one SFTP connection may make (each password, each key offered, each signature) before it is closed.',
        ),
        sftpMaxHandles: intField(1, 100_000, 64, 'Files and directories one SFTP connection may hold open at once (all its sftp sessions together).'),
        transferIdleSeconds: intField(
          1,
          86_400,
          60,
          'A download (HTTP body, FTP data connection, SFTP reads) that moves no byte for this long while the client should be reading ' +
            'is closed and audited as aborted, in seconds.',
        ),
        defenderThreshold: intField(1, 10_000, 15, 'Brute-force defender: score at which an address is banned (unknown login +2, wrong password +1).'),
        defenderObservationSeconds: intField(1, 86_400, 1800, 'Brute-force defender: how long a failed login counts towards the score, in seconds.'),
        defenderBanSeconds: intField(1, 604_800, 1800, 'Brute-force defender: first ban, in seconds; each further ban of the address lasts longer.'),
        defenderBanIncrementPercent: intField(0, 1000, 50, 'Brute-force defender: how much longer each repeated ban lasts, in percent.'),
        loginCacheSeconds: intField(
          0,
          3600,
          600,
          'How long a successful FTP/SFTP login is remembered. The change feed drops it as soon as it goes stale (password, keys, ' +
            'disabled, entitlements, releases): this time only bounds it while the link to the web host is down. 0: check every login.',
        ),
        feedStateDir: pathField(
          `${DATA_DIR_TOKEN}/feed-state`,
          'Where the file host keeps its place in the change feed and its ticket cut-offs (<name>.json, mode 0600): a restarted file host resumes there.',
        ),
        ticketMaxLifetimeSeconds: intField(
          10,
          86_400,
          86_400,
          'The longest a download ticket lives (at least services.web.ticketTtlSeconds): ticket cut-offs older than this are forgotten.',
        ),
        openFileCacheMs: intField(
          0,
          60_000,
          1000,
          'How long an opened file is reused by later downloads of it, in ms (0: open per request). Staging changes drop it at once.',
        ),
      })
      .superRefine((c, ctx) => {
        if (c.ftpPassivePortMax < c.ftpPassivePortMin) {
          ctx.addIssue({
            code: 'custom',
            path: ['ftpPassivePortMax'],
            input: c.ftpPassivePortMax,
            message: `must be >= services.ftp.ftpPassivePortMin, which is ${c.ftpPassivePortMin}`,
          });
        }
      })
      .prefault({}),
    internalDb: z
      .strictObject({
        host: hostField('Address of the internal-db service.'),
        commlinkPort: intField(0, 65535, 7402, 'Commlink port of the internal-db service.'),
        mode: z
          .enum(['listen', 'dial'])
          .default('listen')
          .describe('listen: the web host dials internal-db; dial: internal-db dials out to the web host (reverse dial through a firewall).'),
        dialHost: hostField('dial mode: address of the web host that internal-db dials.'),
        dialPort: intField(
          0,
          65535,
          7403,
          "dial mode: the web host's commlink port for internal-db (0: any free port; npm start tells the internal-db the one the web host got).",
        ),
        dbPath: pathField(`${DATA_DIR_TOKEN}/internal-db/fulfillment.sqlite`, 'SQLite database file (WAL mode; the -wal and -shm files sit beside it).'),
        synchronous: z
          .enum(['full', 'normal'])
          .default('full')
          .describe('SQLite synchronous mode: full survives power loss; normal survives a crashed process only.'),
        backupDir: pathField(`${DATA_DIR_TOKEN}/backups`, 'Directory for online backups of the database.'),
        backupIntervalMinutes: intField(0, 10_080, 0, 'Minutes between scheduled online backups (0: only on demand).'),
        backupKeep: intField(1, 1000, 7, 'Scheduled backups kept; older ones are deleted.'),
        scryptLogN: intField(14, 20, 15, 'Password hashing cost: scrypt N = 2^scryptLogN (r=8, p=1) for new hashes.'),
        authCacheSeconds: intField(0, 3600, 300, 'How long a verified password is remembered (entitlements are still read live); 0: never.'),
        expiringNoticeHours: intField(1, 8760, 168, 'How long before an entitlement expires the change entitlement.expiring is recorded, in hours.'),
        changeLogDays: intField(
          1,
          3650,
          30,
          'How long the change log keeps a change, in days (pruned at start and hourly); a subscriber that resumes from a pruned one is told to reset.',
        ),
      })
      .prefault({}),
  })
  .prefault({});

const log = z
  .strictObject({
    level: z.enum(LOG_LEVELS).default('info').describe('Least severe log level written.'),
  })
  .prefault({});

export const configSchema = z.strictObject({
  dataDir: pathField('var', 'Data directory (relative paths are resolved against the working directory).'),
  commlink,
  rsa,
  services,
  log,
});

type DeepReadonly<T> = T extends readonly (infer U)[] ? readonly DeepReadonly<U>[] : T extends object ? { readonly [K in keyof T]: DeepReadonly<T[K]> } : T;

type DeepPartial<T> = T extends readonly unknown[] ? T : T extends object ? { [K in keyof T]?: DeepPartial<T[K]> } : T;

/** The loaded configuration: every field present, paths absolute, deeply frozen. */
export type Config = DeepReadonly<z.output<typeof configSchema>>;

/** What `loadConfig({ overrides })` accepts: any subset of the fields, nested like the config. */
export type ConfigOverrides = DeepPartial<z.input<typeof configSchema>>;
