/**
 * Versioned schema migrations. Migration N brings the database from user_version N-1 to N, in one
 * transaction. Released migrations are never edited: a change is a new migration.
 */
export interface Migration {
  readonly version: number;
  readonly description: string;
  readonly sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'catalogue, customers, entitlements, EULAs, stagings, audit',
    sql: `
CREATE TABLE vendors (
  id          INTEGER PRIMARY KEY,
  name        TEXT NOT NULL UNIQUE,
  created_at  TEXT NOT NULL
);
CREATE TABLE eulas (
  id          INTEGER PRIMARY KEY,
  title       TEXT NOT NULL,
  body        TEXT NOT NULL,
  created_at  TEXT NOT NULL
);
CREATE TABLE products (
  id          INTEGER PRIMARY KEY,
  vendor_id   INTEGER NOT NULL REFERENCES vendors(id),
  code        TEXT NOT NULL UNIQUE,
  name        TEXT NOT NULL,
  eula_id     INTEGER REFERENCES eulas(id),
  created_at  TEXT NOT NULL
);
CREATE TABLE releases (
  id           INTEGER PRIMARY KEY,
  product_id   INTEGER NOT NULL REFERENCES products(id),
  version      TEXT NOT NULL,
  channel      TEXT NOT NULL,
  status       TEXT NOT NULL CHECK (status IN ('draft', 'published', 'yanked')),
  published_at TEXT,
  yanked_at    TEXT,
  created_at   TEXT NOT NULL,
  UNIQUE (product_id, version)
);
CREATE TABLE artifacts (
  id          INTEGER PRIMARY KEY,
  release_id  INTEGER NOT NULL REFERENCES releases(id),
  filename    TEXT NOT NULL,
  size        INTEGER NOT NULL CHECK (size >= 0),
  sha256      TEXT NOT NULL CHECK (length(sha256) = 64),
  platform    TEXT NOT NULL,
  arch        TEXT NOT NULL,
  object_id   TEXT NOT NULL,
  created_at  TEXT NOT NULL,
  UNIQUE (release_id, filename)
);
CREATE TABLE customers (
  id            INTEGER PRIMARY KEY,
  login         TEXT NOT NULL UNIQUE,
  name          TEXT NOT NULL,
  email         TEXT,
  password_hash TEXT,
  disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
  created_at    TEXT NOT NULL
);
CREATE TABLE ssh_keys (
  id           INTEGER PRIMARY KEY,
  customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  algorithm    TEXT NOT NULL,
  key_b64      TEXT NOT NULL,
  fingerprint  TEXT NOT NULL,
  comment      TEXT NOT NULL DEFAULT '',
  created_at   TEXT NOT NULL,
  UNIQUE (customer_id, fingerprint)
);
CREATE TABLE api_tokens (
  id          INTEGER PRIMARY KEY,
  owner_kind  TEXT NOT NULL CHECK (owner_kind IN ('customer', 'vendor', 'admin')),
  owner_id    INTEGER,
  token_hash  TEXT NOT NULL UNIQUE,
  label       TEXT NOT NULL DEFAULT '',
  created_at  TEXT NOT NULL,
  revoked_at  TEXT
);
CREATE TABLE entitlements (
  id             INTEGER PRIMARY KEY,
  customer_id    INTEGER NOT NULL REFERENCES customers(id),
  product_id     INTEGER NOT NULL REFERENCES products(id),
  version_range  TEXT NOT NULL,
  starts_at      TEXT NOT NULL,
  expires_at     TEXT,
  on_expiry      TEXT NOT NULL CHECK (on_expiry IN ('keep', 'revoke')),
  revoked_at     TEXT,
  created_at     TEXT NOT NULL
);
CREATE INDEX entitlements_by_customer ON entitlements (customer_id);
CREATE TABLE eula_acceptances (
  customer_id  INTEGER NOT NULL REFERENCES customers(id),
  eula_id      INTEGER NOT NULL REFERENCES eulas(id),
  accepted_at  TEXT NOT NULL,
  PRIMARY KEY (customer_id, eula_id)
);
CREATE TABLE stagings (
  id           INTEGER PRIMARY KEY,
  customer_id  INTEGER NOT NULL REFERENCES customers(id),
  release_id   INTEGER NOT NULL REFERENCES releases(id),
  host         TEXT NOT NULL,
  staged_at    TEXT NOT NULL,
  UNIQUE (customer_id, release_id, host)
);
CREATE TABLE download_events (
  id              INTEGER PRIMARY KEY,
  event_id        TEXT NOT NULL UNIQUE,
  customer_id     INTEGER NOT NULL REFERENCES customers(id),
  artifact_id     INTEGER REFERENCES artifacts(id),
  path            TEXT NOT NULL,
  protocol        TEXT NOT NULL CHECK (protocol IN ('http', 'ftp', 'sftp')),
  client_address  TEXT NOT NULL,
  bytes           INTEGER NOT NULL CHECK (bytes >= 0),
  duration_ms     INTEGER NOT NULL CHECK (duration_ms >= 0),
  outcome         TEXT NOT NULL CHECK (outcome IN ('complete', 'aborted')),
  at              TEXT NOT NULL
);
CREATE INDEX download_events_by_customer ON download_events (customer_id, at);
CREATE INDEX download_events_by_time ON download_events (at);
`,
  },
  {
    version: 2,
    description: "disabled vendors; portal sessions ended at sign-out, and a time before which a customer's sessions are void",
    sql: `
ALTER TABLE vendors ADD COLUMN disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1));
ALTER TABLE customers ADD COLUMN sessions_valid_after TEXT;
CREATE TABLE ended_sessions (
  sid          TEXT PRIMARY KEY,
  customer_id  INTEGER NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
  expires_at   TEXT NOT NULL
);
CREATE INDEX ended_sessions_by_expiry ON ended_sessions (expires_at);
`,
  },
  {
    version: 3,
    description: 'the change log (one row per change, in the transaction of the change), and which time-based changes of an entitlement were recorded',
    sql: `
CREATE TABLE changes (
  seq             INTEGER PRIMARY KEY AUTOINCREMENT,
  kind            TEXT NOT NULL,
  at              TEXT NOT NULL,
  customer        TEXT,
  vendor          TEXT,
  product         TEXT,
  version         TEXT,
  filename        TEXT,
  entitlement_id  INTEGER,
  token_id        INTEGER,
  eula_id         INTEGER,
  fingerprint     TEXT,
  protocol        TEXT,
  bytes           INTEGER,
  actor_kind      TEXT NOT NULL CHECK (actor_kind IN ('token', 'admin', 'customer', 'system')),
  actor_id        TEXT,
  actor_address   TEXT
);
CREATE INDEX changes_by_time ON changes (at);
CREATE INDEX changes_by_vendor ON changes (vendor, seq);
CREATE INDEX changes_by_customer ON changes (customer, seq);
ALTER TABLE entitlements ADD COLUMN start_noted INTEGER NOT NULL DEFAULT 0 CHECK (start_noted IN (0, 1));
ALTER TABLE entitlements ADD COLUMN expiring_noted INTEGER NOT NULL DEFAULT 0 CHECK (expiring_noted IN (0, 1));
ALTER TABLE entitlements ADD COLUMN expiry_noted INTEGER NOT NULL DEFAULT 0 CHECK (expiry_noted IN (0, 1));
UPDATE entitlements SET start_noted = 1 WHERE starts_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
UPDATE entitlements SET expiring_noted = 1, expiry_noted = 1 WHERE expires_at IS NOT NULL AND expires_at <= strftime('%Y-%m-%dT%H:%M:%fZ', 'now');
CREATE INDEX entitlements_start_due ON entitlements (starts_at) WHERE start_noted = 0 AND revoked_at IS NULL;
CREATE INDEX entitlements_expiring_due ON entitlements (expires_at) WHERE expiring_noted = 0 AND revoked_at IS NULL AND expires_at IS NOT NULL;
CREATE INDEX entitlements_expiry_due ON entitlements (expires_at) WHERE expiry_noted = 0 AND revoked_at IS NULL AND expires_at IS NOT NULL;
`,
  },
  {
    version: 4,
    description: 'webhook endpoints (owner, URL, event kinds, secret, cursor, lease, why disabled) and their delivery log',
    sql: `
CREATE TABLE webhooks (
  id               INTEGER PRIMARY KEY,
  owner_kind       TEXT NOT NULL CHECK (owner_kind IN ('admin', 'vendor', 'customer')),
  owner            TEXT,
  url              TEXT NOT NULL,
  events           TEXT NOT NULL,
  secret           TEXT NOT NULL,
  enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  disabled_reason  TEXT,
  disabled_at      TEXT,
  failing_since    TEXT,
  cursor           INTEGER NOT NULL CHECK (cursor >= 0),
  lease_holder     TEXT,
  lease_until      INTEGER,
  created_at       TEXT NOT NULL,
  created_by       TEXT,
  CHECK ((owner_kind = 'admin') = (owner IS NULL))
);
CREATE INDEX webhooks_by_owner ON webhooks (owner_kind, owner);
CREATE TABLE webhook_deliveries (
  id           INTEGER PRIMARY KEY,
  webhook_id   INTEGER NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
  seq          INTEGER NOT NULL,
  event        TEXT NOT NULL,
  at           TEXT NOT NULL,
  attempt      INTEGER NOT NULL CHECK (attempt >= 1),
  outcome      TEXT NOT NULL CHECK (outcome IN ('delivered', 'failed')),
  status       INTEGER,
  error        TEXT,
  duration_ms  INTEGER NOT NULL CHECK (duration_ms >= 0)
);
CREATE INDEX webhook_deliveries_by_webhook ON webhook_deliveries (webhook_id, id);
CREATE INDEX webhook_deliveries_by_time ON webhook_deliveries (at);
`,
  },
];
