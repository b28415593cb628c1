import type { Stats } from 'node:fs';

/**
 * What the SHA-256 of a file is, by its inode: every staged file is a hard link to a repository
 * object, so the object's hash is the file's. Keys include size and mtime, so a file changed in
 * place (which only an operator could do) is not mistaken for the object it was.
 */
export class DigestIndex {
  readonly #byInode = new Map<string, string>();

  static key(stats: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>): string {
    return `${stats.dev}:${stats.ino}:${stats.size}:${stats.mtimeMs}`;
  }

  get(stats: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>): string | undefined {
    return this.#byInode.get(DigestIndex.key(stats));
  }

  set(stats: Pick<Stats, 'dev' | 'ino' | 'size' | 'mtimeMs'>, sha256: string): void {
    this.#byInode.set(DigestIndex.key(stats), sha256);
  }

  get size(): number {
    return this.#byInode.size;
  }
}
