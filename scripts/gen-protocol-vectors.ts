/**
 * Rewrites the test-vector section of lib/commlink/PROTOCOL.md (between its vector markers) from
 * the implementation: `node dist/scripts/gen-protocol-vectors.js`. With --check it only reports
 * whether the document is current (exit 1 when not).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { vectorsMarkdown } from '../lib/commlink/vectors.js';
import { resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';

const PROTOCOL = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'commlink', 'PROTOCOL.md');
const SECTION = /<!-- vectors:begin -->[\s\S]*<!-- vectors:end -->/;

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const { out, err } = resolveIo(io);
  const check = argv.includes('--check');
  if (argv.some((a) => a !== '--check')) {
    err('usage: gen-protocol-vectors [--check]');
    return 2;
  }
  const text = await readFile(PROTOCOL, 'utf8');
  if (!SECTION.test(text)) {
    err(`gen-protocol-vectors: ${PROTOCOL} has no vector markers`);
    return 1;
  }
  const updated = text.replace(SECTION, `<!-- vectors:begin -->\n${vectorsMarkdown()}\n<!-- vectors:end -->`);
  if (check) {
    out(updated === text ? 'PROTOCOL.md vectors are current' : 'PROTOCOL.md vectors are stale');
    return updated === text ? 0 : 1;
  }
  await writeFile(PROTOCOL, updated);
  out(`wrote the test vectors into ${PROTOCOL}`);
  return 0;
}

runIfEntryPoint(import.meta.url, (argv) => main(argv));
