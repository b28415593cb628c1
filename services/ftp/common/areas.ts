import { join } from 'node:path';
import { FileHostErrors } from '../../../lib/contracts/file-host/errors.js';
import { fileNameProblem, LOGIN } from '../../../lib/contracts/names.js';
import { AreaRoot } from './path-resolver.js';

/**
 * The customer areas: `areas/<login>/…`, one root per customer. Every protocol asks here for the
 * root of a session's customer; the root is resolved once and remembered.
 */
export class Areas {
  readonly dir: string;
  readonly #roots = new Map<string, AreaRoot>();

  constructor(dir: string) {
    this.dir = dir;
  }

  /** The directory of a customer's area (it may not exist yet). */
  dirOf(login: string): string {
    if (!LOGIN.test(login)) throw FileHostErrors.INVALID_INPUT(`not a customer login: ${JSON.stringify(login).slice(0, 80)}`, { field: 'customer' });
    return join(this.dir, login);
  }

  /** The customer's area root, or ERR_NOT_FOUND when nothing was ever staged for the customer. */
  rootOf(login: string): AreaRoot {
    let root = this.#roots.get(login);
    if (root) return root; // a removed and remade area has the same real path
    const dir = this.dirOf(login);
    try {
      root = new AreaRoot(dir);
    } catch {
      throw FileHostErrors.NOT_FOUND(`nothing is staged for ${login}`);
    }
    this.#roots.set(login, root);
    return root;
  }
}

/** A single plain name (a product, a version, a file name) by the one file-name rule, which the path resolver also applies. */
export function plainName(value: string, field: string): string {
  const problem = typeof value === 'string' ? fileNameProblem(value) : 'not a string';
  if (problem !== undefined) throw FileHostErrors.INVALID_INPUT(`${field}: not a plain name (${problem}): ${JSON.stringify(value).slice(0, 200)}`, { field });
  return value;
}

/** The virtual path of a staged file: `/product/version/filename`. */
export function stagedPath(product: string, version: string, filename: string): string {
  return `/${plainName(product, 'product')}/${plainName(version, 'version')}/${plainName(filename, 'filename')}`;
}
