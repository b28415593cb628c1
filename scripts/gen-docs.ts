/**
 * Writes every generated document from its source of truth (`npm run docs`), or with `--check`
 * lists those that differ from what would be generated and exits 1. A test runs the check too.
 *
 *   lib/config/CONFIG.md                the configuration schema
 *   services/web/API.md                 the REST API's route table and the error catalogues
 *   services/internal-db/OPERATIONS.md  the internal-db's contracts
 *   services/ftp/OPERATIONS.md          the file host's contracts and its edges' answers
 *   services/web/OPERATIONS.md          what a web host serves to file hosts
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';
import { renderApiDoc } from './gen-api-doc.js';
import { renderConfigDoc } from './gen-config-doc.js';
import { renderOperationsDoc } from './gen-ops-doc.js';

/** The repository's root (scripts are compiled into dist/scripts). */
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Each generated document: its path from the root, and what renders it. */
export const GENERATED_DOCS: readonly { path: string; render: () => string }[] = [
  { path: 'lib/config/CONFIG.md', render: renderConfigDoc },
  { path: 'services/web/API.md', render: renderApiDoc },
  { path: 'services/internal-db/OPERATIONS.md', render: () => renderOperationsDoc('internal-db') },
  { path: 'services/ftp/OPERATIONS.md', render: () => renderOperationsDoc('file-host') },
  { path: 'services/web/OPERATIONS.md', render: () => renderOperationsDoc('web') },
];

/** The documents whose committed text differs from what is generated now. */
export async function staleDocs(root = ROOT): Promise<string[]> {
  const stale: string[] = [];
  for (const doc of GENERATED_DOCS) {
    const committed = await readFile(join(root, doc.path), 'utf8').catch(() => '');
    if (committed.trimEnd() !== doc.render().trimEnd()) stale.push(doc.path);
  }
  return stale;
}

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  if (argv.length > 1 || (argv.length === 1 && argv[0] !== '--check')) {
    resolved.err('usage: gen-docs [--check]');
    return 2;
  }
  if (argv[0] === '--check') {
    const stale = await staleDocs();
    for (const path of stale) resolved.err(`${path} is out of date: run npm run docs`);
    return stale.length === 0 ? 0 : 1;
  }
  for (const doc of GENERATED_DOCS) {
    await writeFile(join(ROOT, doc.path), `${doc.render().trimEnd()}\n`);
    resolved.out(`wrote ${doc.path}`);
  }
  return 0;
}

runIfEntryPoint(import.meta.url, (argv) => main(argv));
