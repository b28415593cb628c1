import { createHash, randomBytes } from 'node:crypto';
import { constants, createReadStream, type Stats } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, open, readdir, rename, rm, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import type { Logger } from '../../../lib/log/logger.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { DigestIndex } from './digest-index.js';
import type { HashPool } from './hash-pool.js';
import { HOST_NAME, SHA256_HEX } from '../../../lib/contracts/names.js';

/** An object id: the lowercase hex SHA-256 of its bytes. */
const OBJECT_ID = SHA256_HEX;

export interface IngestExpectation {
  /** The SHA-256 the bytes must have (lowercase hex). */
  sha256?: string;
  /** The number of bytes there must be. */
  size?: number;
}

export interface IngestResult {
  readonly objectId: string;
  readonly size: number;
  /** False when the object was there already (same bytes ingested before). */
  readonly created: boolean;
}

/**
 * The content-addressed repository: read-only objects (mode 0444) named by their SHA-256, at
 * `objects/<first two hex>/<id>`. Copies made when an object reaches the filesystem's link-count
 * limit sit beside it as `<id>.<n>`. Partial ingests live in `tmp/<owner>/` under a random name and
 * are either linked into place whole or removed; that folder is emptied at start, so a crash leaves
 * nothing.
 *
 * Several file hosts may share one repository (a shared volume): each has its own `tmp/<owner>/`
 * (its name), so one starting never removes another's ingest in progress, and an object any of
 * them stored is found by its path; the digest index is a cache of this process, filled as
 * objects are found.
 */
export class Repository {
  readonly dir: string;
  readonly objectsDir: string;
  readonly tmpDir: string;
  readonly digests = new DigestIndex();
  readonly #hashPool: HashPool;
  readonly #log: Logger;

  private constructor(dir: string, hashPool: HashPool, log: Logger, owner: string) {
    this.dir = dir;
    this.objectsDir = join(dir, 'objects');
    this.tmpDir = owner === '' ? join(dir, 'tmp') : join(dir, 'tmp', owner);
    this.#hashPool = hashPool;
    this.#log = log;
  }

  /**
   * Opens (creating if needed) the repository at `dir`, clears this owner's leftovers, indexes the
   * objects. `owner` (a file host name: a-z 0-9 . -) names its temporary folder; without one the
   * whole of `tmp/` is this process's (a repository no other host shares).
   */
  static async open(dir: string, hashPool: HashPool, log: Logger, owner = ''): Promise<Repository> {
    if (owner !== '' && !HOST_NAME.test(owner))
      throw FileHostErrors.INVALID_INPUT(`not a file host name: ${JSON.stringify(owner).slice(0, 80)}`, { field: 'name' });
    const repo = new Repository(dir, hashPool, log, owner);
    await mkdir(repo.objectsDir, { recursive: true, mode: 0o755 });
    await rm(repo.tmpDir, { recursive: true, force: true });
    await mkdir(repo.tmpDir, { recursive: true, mode: 0o700 });
    await repo.#indexObjects();
    return repo;
  }

  objectPath(objectId: string): string {
    if (!OBJECT_ID.test(objectId)) throw FileHostErrors.INVALID_INPUT(`not an object id: ${JSON.stringify(objectId).slice(0, 80)}`, { field: 'objectId' });
    return join(this.objectsDir, objectId.slice(0, 2), objectId);
  }

  /**
   * The object's stats, or ERR_NOT_FOUND. An object found here is indexed (another file host
   * sharing the repository may have stored it since this one started).
   */
  async statObject(objectId: string): Promise<Stats> {
    try {
      const stats = await stat(this.objectPath(objectId));
      this.digests.set(stats, objectId);
      return stats;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw FileHostErrors.NOT_FOUND(`no object ${objectId} in the repository`, { objectId });
      throw err;
    }
  }

  /** A fresh name in tmp/ (on the repository's filesystem). */
  tmpPath(suffix: string): string {
    return join(this.tmpDir, `${randomBytes(12).toString('hex')}.${suffix}`);
  }

  /**
   * Ingests a stream: the bytes go to a temporary file while their SHA-256 is computed, are synced,
   * checked against `expect`, made read-only and linked into place. On any failure (the stream
   * errors, a mismatch) the temporary file is removed and nothing is stored.
   */
  async ingestStream(source: Readable, expect: IngestExpectation = {}): Promise<IngestResult> {
    const tmp = this.tmpPath('part');
    const hash = createHash('sha256');
    let size = 0;
    const handle = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      try {
        for await (const chunk of source) {
          const buffer = chunk as Buffer;
          hash.update(buffer);
          size += buffer.length;
          if (expect.size !== undefined && size > expect.size) throw mismatch(`more than the expected ${expect.size} bytes`);
          await handle.write(buffer);
        }
        await handle.sync();
      } finally {
        await handle.close();
      }
      return await this.#commit(tmp, hash.digest('hex'), size, expect);
    } catch (err) {
      source.destroy();
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  /**
   * Ingests a file already on disk, moving it in (a rename: no copy, and its old name is gone before
   * it is hashed, so it cannot change under the hash). The SHA-256 is computed in the worker pool.
   * On a mismatch the file is moved back to where it was; nothing is stored.
   */
  async ingestFile(path: string, expect: IngestExpectation = {}): Promise<IngestResult> {
    const stats = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw FileHostErrors.NOT_FOUND(`no such file: ${path}`);
      throw err;
    });
    if (!stats.isFile()) throw FileHostErrors.INVALID_INPUT(`not a regular file: ${path}`, { field: 'name' });
    const tmp = this.tmpPath('inbox');
    try {
      await rename(path, tmp);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      // The inbox is on another filesystem: copy it in, hashing as it streams, then drop the original.
      const result = await this.ingestStream(createReadStream(path, { highWaterMark: 1024 * 1024 }), expect);
      await unlink(path);
      return result;
    }
    try {
      const digest = await this.#hashPool.hashFile(tmp);
      return await this.#commit(tmp, digest.sha256, digest.size, expect);
    } catch (err) {
      await rename(tmp, path).catch(() => unlink(tmp).catch(() => {}));
      throw err;
    }
  }

  /** Checks the expectation, makes the temp file read-only, links it into place, removes the temp name. */
  async #commit(tmp: string, sha256: string, size: number, expect: IngestExpectation): Promise<IngestResult> {
    if (expect.size !== undefined && size !== expect.size) throw mismatch(`${size} bytes, expected ${expect.size}`);
    if (expect.sha256 !== undefined && sha256 !== expect.sha256) throw mismatch(`SHA-256 ${sha256}, expected ${expect.sha256}`);
    const target = this.objectPath(sha256);
    await chmod(tmp, 0o444);
    await mkdir(join(this.objectsDir, sha256.slice(0, 2)), { recursive: true, mode: 0o755 });
    let created = true;
    try {
      await link(tmp, target);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      created = false; // the same bytes are stored already
    }
    await unlink(tmp);
    this.digests.set(await stat(target), sha256);
    return { objectId: sha256, size, created };
  }

  /** The copies of an object made for the link-count limit, oldest first. */
  async copiesOf(objectId: string): Promise<string[]> {
    const dir = join(this.objectsDir, objectId.slice(0, 2));
    const names = await readdir(dir).catch(() => [] as string[]);
    return names
      .filter((n) => n.startsWith(`${objectId}.`) && /^\d+$/.test(n.slice(65)))
      .sort((a, b) => Number(a.slice(65)) - Number(b.slice(65)))
      .map((n) => join(dir, n));
  }

  /** Makes a new read-only copy of an object (a reflink where the filesystem can), for the link-count limit. */
  async addCopy(objectId: string): Promise<string> {
    const source = this.objectPath(objectId);
    const copies = await this.copiesOf(objectId);
    const last = copies.at(-1);
    const next = last === undefined ? 1 : Number(last.split('.').pop()) + 1;
    const tmp = this.tmpPath('copy');
    try {
      await copyFile(source, tmp, constants.COPYFILE_FICLONE);
      await chmod(tmp, 0o444);
      const target = `${source}.${next}`;
      try {
        await link(tmp, target);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err; // a concurrent stage made it: use theirs
      }
      this.digests.set(await stat(target), objectId);
      this.#log.info('repository: object copied for the link-count limit', { objectId, copy: next });
      return target;
    } finally {
      await unlink(tmp).catch(() => {});
    }
  }

  /** The SHA-256 of a file by its inode: indexed for objects, hashed in the pool otherwise (and remembered). */
  async digestOf(path: string, stats: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>): Promise<string> {
    const known = this.digests.get(stats);
    if (known) return known;
    const digest = await this.#hashPool.hashFile(path);
    this.digests.set(stats, digest.sha256);
    return digest.sha256;
  }

  async #indexObjects(): Promise<void> {
    for (const prefix of await readdir(this.objectsDir)) {
      const dir = join(this.objectsDir, prefix);
      for (const name of await readdir(dir).catch(() => [] as string[])) {
        const id = name.slice(0, 64);
        if (!OBJECT_ID.test(id)) continue;
        const stats = await stat(join(dir, name)).catch(() => undefined);
        if (stats?.isFile()) this.digests.set(stats, id);
      }
    }
    this.#log.debug('repository indexed', { objects: this.digests.size });
  }
}

function mismatch(what: string): Error {
  return FileHostErrors.OBJECT_MISMATCH(`ingest refused: ${what}; nothing was stored`);
}
