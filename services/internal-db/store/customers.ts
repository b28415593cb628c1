import type { ChangeActor } from '../../../lib/contracts/internal-db/changes.js';
import type { Db } from '../db/open.js';
import { InternalDbErrors } from '../../../lib/contracts/internal-db/errors.js';
import type { SshPublicKey } from '../ssh-keys.js';
import { newToken, tokenHash } from '../tokens.js';
import type { ChangeLog } from './changes.js';
import { iso, type Clock } from './clock.js';
import { after, pageOf, type PageQuery } from './page.js';

export interface CustomerRow {
  id: number;
  login: string;
  name: string;
  email: string | null;
  password_hash: string | null;
  disabled: 0 | 1;
}

export type TokenOwnerKind = 'customer' | 'vendor' | 'admin';

/**
 * Customers and their credentials: password hash, SSH public keys, API tokens (all hashed or
 * public). Each change is recorded in the change log (call inside a transaction); a call that
 * changes nothing (disabling a disabled customer) records nothing.
 */
export class Customers {
  readonly #now: Clock;
  readonly #changes: ChangeLog;
  readonly #q;

  constructor(db: Db, now: Clock, changes: ChangeLog) {
    this.#now = now;
    this.#changes = changes;
    this.#q = {
      insert: db.prepare('INSERT INTO customers (login, name, email, password_hash, created_at) VALUES (?, ?, ?, ?, ?)'),
      byLogin: db.prepare<[string], CustomerRow>('SELECT id, login, name, email, password_hash, disabled FROM customers WHERE login = ?'),
      byId: db.prepare<[number], CustomerRow>('SELECT id, login, name, email, password_hash, disabled FROM customers WHERE id = ?'),
      list: db.prepare<
        [string | null, string | null, number],
        { login: string; name: string; email: string | null; disabled: 0 | 1; hasPassword: 0 | 1; sshKeys: number }
      >(
        `SELECT c.login, c.name, c.email, c.disabled, (c.password_hash IS NOT NULL) AS hasPassword,
         (SELECT count(*) FROM ssh_keys k WHERE k.customer_id = c.id) AS sshKeys FROM customers c WHERE (? IS NULL OR c.login > ?) ORDER BY c.login LIMIT ?`,
      ),
      setPassword: db.prepare('UPDATE customers SET password_hash = ? WHERE id = ?'),
      setDisabled: db.prepare('UPDATE customers SET disabled = ? WHERE id = ?'),
      insertKey: db.prepare('INSERT INTO ssh_keys (customer_id, algorithm, key_b64, fingerprint, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)'),
      keys: db.prepare<[number], { algorithm: string; keyB64: string; fingerprint: string; comment: string }>(
        'SELECT algorithm, key_b64 AS keyB64, fingerprint, comment FROM ssh_keys WHERE customer_id = ? ORDER BY id',
      ),
      keyMatch: db.prepare<[number, string, string], { id: number }>('SELECT id FROM ssh_keys WHERE customer_id = ? AND algorithm = ? AND key_b64 = ?'),
      removeKey: db.prepare('DELETE FROM ssh_keys WHERE customer_id = ? AND fingerprint = ?'),
      insertToken: db.prepare('INSERT INTO api_tokens (owner_kind, owner_id, token_hash, label, created_at) VALUES (?, ?, ?, ?, ?)'),
      tokenByHash: db.prepare<[string], { id: number; owner_kind: TokenOwnerKind; owner_id: number | null; revoked_at: string | null }>(
        'SELECT id, owner_kind, owner_id, revoked_at FROM api_tokens WHERE token_hash = ?',
      ),
      revokeToken: db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL'),
      tokenSubject: db.prepare<[number], { customer: string | null; vendor: string | null }>(
        `SELECT c.login AS customer, v.name AS vendor FROM api_tokens t
         LEFT JOIN customers c ON t.owner_kind = 'customer' AND c.id = t.owner_id LEFT JOIN vendors v ON t.owner_kind = 'vendor' AND v.id = t.owner_id
         WHERE t.id = ?`,
      ),
      tokens: db.prepare<
        [number, number],
        { id: number; ownerKind: TokenOwnerKind; ownerId: number | null; label: string; createdAt: string; revokedAt: string | null }
      >(
        `SELECT id, owner_kind AS ownerKind, owner_id AS ownerId, label, created_at AS createdAt, revoked_at AS revokedAt
         FROM api_tokens WHERE id > ? ORDER BY id LIMIT ?`,
      ),
    };
  }

  create(login: string, name: string, email: string | null, passwordHash: string | null, by?: ChangeActor) {
    if (this.#q.byLogin.get(login)) throw InternalDbErrors.CONFLICT(`customer "${login}" exists`, { field: 'login' });
    const id = Number(this.#q.insert.run(login, name, email, passwordHash, iso(this.#now())).lastInsertRowid);
    this.#changes.record('customer.created', { customer: login }, by);
    return { id, login, name, email };
  }

  find(login: string): CustomerRow | undefined {
    return this.#q.byLogin.get(login);
  }

  get(login: string): CustomerRow {
    const customer = this.#q.byLogin.get(login);
    if (!customer) throw InternalDbErrors.NOT_FOUND(`no customer "${login}"`, { field: 'customer' });
    return customer;
  }

  byId(id: number): CustomerRow | undefined {
    return this.#q.byId.get(id);
  }

  /** Customers by login, a page at a time. */
  list(page: PageQuery) {
    const [login] = after(page, ['string']) ?? [null];
    const { items, next } = pageOf(this.#q.list.all(login, login, page.limit + 1), page.limit, (c) => [c.login]);
    return { items: items.map((c) => ({ ...c, disabled: c.disabled === 1, hasPassword: c.hasPassword === 1 })), next };
  }

  /** Sets (or, with null, removes) the password; a new hash is a change even for the same password (its salt is new). */
  setPasswordHash(login: string, hash: string | null, by?: ChangeActor) {
    const customer = this.get(login);
    this.#q.setPassword.run(hash, customer.id);
    if (hash !== null || customer.password_hash !== null) this.#changes.record('customer.password_changed', { customer: login }, by);
    return { login, hasPassword: hash !== null };
  }

  setDisabled(login: string, disabled: boolean, by?: ChangeActor) {
    const customer = this.get(login);
    if ((customer.disabled === 1) !== disabled) {
      this.#q.setDisabled.run(disabled ? 1 : 0, customer.id);
      this.#changes.record(disabled ? 'customer.disabled' : 'customer.enabled', { customer: login }, by);
    }
    return { login, disabled };
  }

  addSshKey(login: string, key: SshPublicKey, by?: ChangeActor) {
    const customer = this.get(login);
    try {
      this.#q.insertKey.run(customer.id, key.algorithm, key.keyB64, key.fingerprint, key.comment, iso(this.#now()));
    } catch (err) {
      if ((err as { code?: string }).code === 'SQLITE_CONSTRAINT_UNIQUE')
        throw InternalDbErrors.CONFLICT(`${login} has key ${key.fingerprint} already`, { field: 'publicKey' });
      throw err;
    }
    this.#changes.record('sshkey.added', { customer: login, fingerprint: key.fingerprint }, by);
    return { login, fingerprint: key.fingerprint, algorithm: key.algorithm };
  }

  removeSshKey(login: string, fingerprint: string, by?: ChangeActor) {
    const removed = this.#q.removeKey.run(this.get(login).id, fingerprint).changes;
    if (removed === 0) throw InternalDbErrors.NOT_FOUND(`${login} has no key ${fingerprint}`, { field: 'fingerprint' });
    this.#changes.record('sshkey.removed', { customer: login, fingerprint }, by);
    return { login, fingerprint };
  }

  sshKeys(login: string) {
    return this.#q.keys.all(this.get(login).id);
  }

  hasSshKey(customerId: number, algorithm: string, keyB64: string): boolean {
    return this.#q.keyMatch.get(customerId, algorithm, keyB64) !== undefined;
  }

  /** Creates a token and returns it: the only time it is ever shown. */
  createToken(kind: TokenOwnerKind, ownerId: number | null, label: string, by?: ChangeActor) {
    const token = newToken();
    const id = Number(this.#q.insertToken.run(kind, ownerId, tokenHash(token), label, iso(this.#now())).lastInsertRowid);
    this.#changes.record('token.created', this.#tokenSubject(id), by);
    return { id, token, ownerKind: kind, label };
  }

  /** The owner of a live token, or undefined. */
  tokenOwner(token: string) {
    const row = this.#q.tokenByHash.get(tokenHash(token));
    if (!row || row.revoked_at !== null) return undefined;
    return { tokenId: row.id, ownerKind: row.owner_kind, ownerId: row.owner_id };
  }

  revokeToken(id: number, by?: ChangeActor) {
    if (this.#q.revokeToken.run(iso(this.#now()), id).changes === 0) throw InternalDbErrors.NOT_FOUND(`no live token ${id}`, { field: 'id' });
    this.#changes.record('token.revoked', this.#tokenSubject(id), by);
    return { id, revoked: true as const };
  }

  /** A token's change subject: its id and its owner (a customer's login or a vendor's name; none for an admin token). */
  #tokenSubject(tokenId: number) {
    const owner = this.#q.tokenSubject.get(tokenId);
    return { tokenId, customer: owner?.customer ?? undefined, vendor: owner?.vendor ?? undefined };
  }

  /** API tokens, oldest first, a page at a time. */
  listTokens(page: PageQuery) {
    const [id] = after(page, ['number']) ?? [0];
    return pageOf(this.#q.tokens.all(id, page.limit + 1), page.limit, (t) => [t.id]);
  }
}
