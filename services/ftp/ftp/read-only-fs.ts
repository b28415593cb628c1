import { closeSync, type Stats } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { type AreaRoot, type OpenedFile, normalizeVirtualPath, refuseDirectoryOnly } from '../common/path-resolver.js';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { globMatcher, hasGlob } from './glob.js';

/** A directory entry as listings show it. */
export interface Entry {
  name: string;
  stats: Stats;
}

/** What a glob matched: the virtual path, the path as the client wrote it (the pattern's parts replaced by names), its stats. */
export interface GlobMatch {
  virtualPath: string;
  shown: string;
  stats: Stats;
}

/** The most paths one glob may match (more: ERR_INVALID_INPUT). */
export const MAX_GLOB_MATCHES = 10_000;

const childOf = (dir: string, name: string) => (dir === '/' ? `/${name}` : `${dir}/${name}`);

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

  /**
   * The virtual path of a client's path that must name a file (RETR, SIZE, MDTM, HASH): as `resolve`,
   * and ERR_NOT_FOUND for a path that can name only a directory (`file/`, `file/.`), as POSIX has it.
   */
  resolveFile(clientPath: string, cwd: string): string {
    const path = this.resolve(clientPath, cwd); // refusals first, as for any path
    refuseDirectoryOnly(clientPath);
    return path;
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

  /**
   * The virtual path of a client's path, as `resolve`, where a `..` steps back out of the name
   * before it only if that is a directory: `file/..` is refused (ERR_NOT_FOUND) although it
   * normalises to the file's directory, as a shell's `cd file/..` is. For CWD and the listings.
   */
  async resolveThroughDirectories(clientPath: string, cwd: string): Promise<string> {
    const target = this.resolve(clientPath, cwd); // refusals first, as for any path
    const stack: string[] = [];
    for (const segment of (clientPath.startsWith('/') ? clientPath : `${cwd}/${clientPath}`).split('/')) {
      if (segment === '' || segment === '.') continue;
      if (segment !== '..') stack.push(segment);
      else if (stack.length > 0) {
        await this.directory(`/${stack.join('/')}`);
        stack.pop();
      }
    }
    return target;
  }

  /**
   * The paths a glob matches (glob.ts), in name order: each part of the path with `*`, `?` or `[`
   * is matched against the names a listing of the directory shows (so names the resolver refuses
   * and links out of the area never match; dot names only for a pattern with a leading dot); a
   * `..` steps back out of directories only; with a trailing `/`, directories only. Nothing
   * matching is an empty array.
   */
  async glob(clientPath: string, cwd: string): Promise<GlobMatch[]> {
    this.resolve(clientPath, cwd); // refusals first, as for any path
    const absolute = clientPath.startsWith('/');
    let branches = [{ virtualPath: absolute ? '/' : cwd, shown: [] as string[] }];
    for (const part of clientPath.split('/').filter((p) => p !== '')) {
      const next: typeof branches = [];
      for (const branch of branches) {
        if (
          part === '..' &&
          !(await this.stat(branch.virtualPath).then(
            (st) => st.isDirectory(),
            () => false,
          ))
        )
          continue;
        if (!hasGlob(part)) {
          next.push({ virtualPath: this.resolve(part, branch.virtualPath), shown: [...branch.shown, part] });
          continue;
        }
        let entries: Entry[];
        try {
          entries = (await this.stat(branch.virtualPath)).isDirectory() ? await this.list(branch.virtualPath) : [];
        } catch {
          continue; // not there: no match down this branch
        }
        const matches = globMatcher(part);
        for (const entry of entries)
          if (matches(entry.name)) next.push({ virtualPath: childOf(branch.virtualPath, entry.name), shown: [...branch.shown, entry.name] });
        if (next.length > MAX_GLOB_MATCHES) throw FileHostErrors.INVALID_INPUT(`the pattern matches more than ${MAX_GLOB_MATCHES} paths`);
      }
      branches = next;
    }
    const found: GlobMatch[] = [];
    for (const { virtualPath, shown } of branches) {
      let stats: Stats;
      try {
        stats = await this.stat(virtualPath);
      } catch {
        continue;
      }
      if (!(stats.isDirectory() || (stats.isFile() && !clientPath.endsWith('/')))) continue;
      found.push({ virtualPath, shown: `${absolute ? '/' : ''}${shown.join('/')}`, stats });
    }
    return found;
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
      const child = childOf(virtualPath, name);
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
