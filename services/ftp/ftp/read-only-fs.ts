import { closeSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { type AreaRoot, type OpenedFile, normalizeVirtualPath } from '../common/path-resolver.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';

/** A directory entry as listings show it. */
export interface Entry {
  name: string;
  stats: Stats;
}

/**
 * A customer's area as an FTP session sees it: read-only, rooted at the area (a `..` above the
 * root is clamped there, as in a chroot). Every client path goes through the file host's resolver
 * (normalizeVirtualPath, then AreaRoot.realPathOf/openFile); nothing here touches a path that
 * did not. Writes do not exist here: the commands that would write are refused before they get
 * this far (write-commands.ts).
 */
export class ReadOnlyArea {
  readonly #root: AreaRoot;

  constructor(root: AreaRoot) {
    this.#root = root;
  }

  /** The virtual absolute path of a client's path, relative to `cwd`; ERR_PATH_REFUSED when malformed. */
  resolve(clientPath: string, cwd: string): string {
    return normalizeVirtualPath(clientPath, { cwd, clamp: true });
  }

  /** Stats of what a virtual path names (after symlinks, which must stay inside the area). */
  async stat(virtualPath: string): Promise<Stats> {
    const real = this.#root.realPathOf(virtualPath);
    try {
      return await stat(real);
    } catch {
      throw FileHostErrors.NOT_FOUND(`no such file: ${virtualPath}`);
    }
  }

  /** The virtual path if it names a directory; ERR_NOT_FOUND otherwise. */
  async directory(virtualPath: string): Promise<string> {
    if (!(await this.stat(virtualPath)).isDirectory()) throw FileHostErrors.NOT_FOUND(`not a directory: ${virtualPath}`);
    return virtualPath;
  }

  /** A regular file's stats; ERR_NOT_FOUND for directories and the rest. */
  async fileStat(virtualPath: string): Promise<Stats> {
    const stats = await this.stat(virtualPath);
    if (!stats.isFile()) throw FileHostErrors.NOT_FOUND(`not a file: ${virtualPath}`);
    return stats;
  }

  /**
   * What a listing of `virtualPath` shows: a directory's files and directories, or the file itself.
   * Entries a client could not address (names the resolver refuses) or that lead out of the area
   * (a planted symlink) are left out, as are sockets, devices and dangling links.
   */
  async list(virtualPath: string): Promise<Entry[]> {
    const stats = await this.stat(virtualPath);
    if (!stats.isDirectory()) return stats.isFile() ? [{ name: virtualPath.slice(virtualPath.lastIndexOf('/') + 1), stats }] : [];
    let names: string[];
    try {
      names = await readdir(this.#root.realPathOf(virtualPath));
    } catch {
      throw FileHostErrors.NOT_FOUND(`no such directory: ${virtualPath}`);
    }
    const entries: Entry[] = [];
    for (const name of names.sort()) {
      const child = virtualPath === '/' ? `/${name}` : `${virtualPath}/${name}`;
      try {
        if (normalizeVirtualPath(child) !== child) continue;
        const childStats = await this.stat(child);
        if (childStats.isFile() || childStats.isDirectory()) entries.push({ name, stats: childStats });
      } catch {
        // refused or gone: not listed
      }
    }
    return entries;
  }

  /** Opens a regular file for reading (resolved, checked, O_NOFOLLOW): the descriptor is what is sent. */
  open(virtualPath: string): OpenedFile {
    return this.#root.openFile(virtualPath);
  }

  /** Closes a descriptor from `open` that was not handed to a stream. */
  static closeQuietly(file: OpenedFile): void {
    try {
      closeSync(file.fd);
    } catch {
      // already closed
    }
  }
}
