import { randomBytes } from 'node:crypto';
import { constants, type Stats } from 'node:fs';
import { chmod, copyFile, link, lstat, mkdir, readdir, rename, rm, rmdir, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Logger } from '../../../lib/log/logger.js';
import { plainName, stagedPath, type Areas } from '../common/areas.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import type { Repository } from '../repository/repository.js';

export interface StageItem {
  readonly objectId: string;
  readonly product: string;
  readonly version: string;
  readonly filename: string;
}

/**
 * How a file was staged. link: a hard link to the object (the normal case). already: it was staged.
 * link-to-copy: the object had reached the link-count limit (EMLINK), so a fresh repository copy
 * was linked. reflink / copy: the area is on another filesystem (EXDEV).
 */
export type StageMethod = 'link' | 'already' | 'link-to-copy' | 'reflink' | 'copy';

export interface StagedFile {
  readonly path: string;
  readonly method: StageMethod;
  readonly size: number;
}

export interface AreaFile {
  readonly path: string;
  readonly size: number;
}

/**
 * Staging: repository objects appear in a customer's area as hard links (no copy; the time does not
 * depend on the size). Symlinks are never made. Every step is safe to run twice or concurrently: a
 * link that exists already is recognised by its inode; a replacement goes in under a temporary
 * name and is renamed over the old one.
 */
export class Stager {
  readonly #repo: Repository;
  readonly #areas: Areas;
  readonly #log: Logger;
  readonly #onChange: (customer: string, removed: boolean) => void;

  /**
   * `onChange` is told each time a customer's area changes (the open-file cache drops its
   * entries), and whether something was taken out (remembered logins are then dropped too).
   */
  constructor(repo: Repository, areas: Areas, log: Logger, onChange: (customer: string, removed: boolean) => void = () => {}) {
    this.#repo = repo;
    this.#areas = areas;
    this.#log = log;
    this.#onChange = onChange;
  }

  async stage(customer: string, items: readonly StageItem[]): Promise<StagedFile[]> {
    const area = this.#areas.dirOf(customer);
    const paths = items.map((item) => stagedPath(item.product, item.version, item.filename)); // all checked before any is staged
    const objects = await Promise.all(items.map((item) => this.#repo.statObject(item.objectId)));
    try {
      return await Promise.all(items.map((item, n) => this.#stageOne(area, paths[n]!, item.objectId, objects[n]!)));
    } finally {
      this.#onChange(customer, false);
    }
  }

  async #stageOne(area: string, path: string, objectId: string, object: Stats): Promise<StagedFile> {
    const target = area + path;
    await mkdir(dirname(target), { recursive: true, mode: 0o755 });
    const method = await this.#place(objectId, object, target, false);
    if (method !== 'link' && method !== 'already') this.#log.warn('staged with a fallback', { path: target, method, objectId });
    return { path, method, size: object.size };
  }

  /** Puts the object at `target`; with `replace`, over whatever is there. */
  async #place(objectId: string, object: Stats, target: string, replace: boolean): Promise<StageMethod> {
    const source = this.#repo.objectPath(objectId);
    try {
      if (replace) {
        const tmp = `${dirname(target)}/.${randomName()}.staging`;
        const method = await this.#place(objectId, object, tmp, false);
        await rename(tmp, target);
        return method;
      }
      await link(source, target);
      return 'link';
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EEXIST') {
        if (await this.#holdsObject(target, objectId, object)) return 'already';
        return this.#place(objectId, object, target, true);
      }
      if (code === 'EMLINK') return this.#linkToCopy(objectId, target);
      if (code === 'EXDEV') return this.#copyAcross(objectId, source, target);
      throw FileHostErrors.STAGING_FAILED(`cannot stage ${objectId}: ${(err as Error).message}`, { objectId }, err);
    }
  }

  /** True when `target` is the object (or one of its copies) already, by inode or by known digest. */
  async #holdsObject(target: string, objectId: string, object: Stats): Promise<boolean> {
    const stats = await lstat(target).catch(() => undefined);
    if (!stats?.isFile()) return false;
    if (stats.ino === object.ino && stats.dev === object.dev) return true;
    return this.#repo.digests.get(stats) === objectId;
  }

  async #linkToCopy(objectId: string, target: string): Promise<StageMethod> {
    for (const copy of await this.#repo.copiesOf(objectId)) {
      try {
        await link(copy, target);
        return 'link-to-copy';
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EMLINK') throw err;
      }
    }
    await link(await this.#repo.addCopy(objectId), target);
    return 'link-to-copy';
  }

  async #copyAcross(objectId: string, source: string, target: string): Promise<StageMethod> {
    const tmp = `${dirname(target)}/.${randomName()}.staging`;
    let method: StageMethod = 'reflink';
    try {
      try {
        await copyFile(source, tmp, constants.COPYFILE_FICLONE_FORCE);
      } catch {
        method = 'copy';
        await copyFile(source, tmp);
      }
      await chmod(tmp, 0o444);
      this.#repo.digests.set(await stat(tmp), objectId);
      await rename(tmp, target);
      return method;
    } catch (err) {
      await unlink(tmp).catch(() => {});
      throw err;
    }
  }

  /** Removes a release (or every release of a product) from a customer's area. */
  async unstage(customer: string, product: string, version?: string): Promise<string[]> {
    const area = this.#areas.dirOf(customer);
    const dir = version === undefined ? `/${plainName(product, 'product')}` : `/${plainName(product, 'product')}/${plainName(version, 'version')}`;
    const removed = (await this.list(customer)).map((f) => f.path).filter((p) => p.startsWith(`${dir}/`));
    await rm(area + dir, { recursive: true, force: true });
    await rmdir(dirname(area + dir)).catch(() => {}); // the product folder, if now empty
    this.#onChange(customer, true);
    return removed;
  }

  /**
   * Removes every release the customer is no longer entitled to: `allowed` is the customer's current
   * releases. Returns the paths removed.
   */
  async prune(customer: string, allowed: readonly { product: string; version: string }[]): Promise<string[]> {
    const keep = new Set(allowed.map((r) => `/${r.product}/${r.version}/`));
    const removed: string[] = [];
    const gone = new Set<string>();
    for (const file of await this.list(customer)) {
      const release = file.path.slice(0, file.path.indexOf('/', file.path.indexOf('/', 1) + 1) + 1);
      if (keep.has(release)) continue;
      removed.push(file.path);
      gone.add(release);
    }
    const area = this.#areas.dirOf(customer);
    for (const release of gone) {
      await rm(area + release, { recursive: true, force: true });
      await rmdir(dirname(area + release.slice(0, -1))).catch(() => {});
    }
    if (removed.length > 0) {
      this.#onChange(customer, true);
      this.#log.info('area pruned', { customer, removed: removed.length });
    }
    return removed;
  }

  /** The files in a customer's area (an empty list when there is no area). */
  async list(customer: string): Promise<AreaFile[]> {
    const area = this.#areas.dirOf(customer);
    const out: AreaFile[] = [];
    const walk = async (virtual: string, depth: number): Promise<void> => {
      const entries = await readdir(area + virtual, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        const path = `${virtual}/${entry.name}`;
        if (entry.isDirectory() && depth < 2) await walk(path, depth + 1);
        else if (entry.isFile() && depth === 2 && !entry.name.startsWith('.')) {
          const stats = await stat(area + path).catch(() => undefined); // gone meanwhile (a concurrent prune): not listed
          if (stats) out.push({ path, size: stats.size });
        }
      }
    };
    await walk('', 0);
    return out.sort((a, b) => (a.path < b.path ? -1 : 1));
  }
}

function randomName(): string {
  return randomBytes(9).toString('base64url');
}
