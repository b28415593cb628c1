import test from 'ava';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/**
 * The import graph of the sources, type-only imports included (ESLint's no-cycle does not follow
 * those): no cycle anywhere, and layers that point one way. ESLint checks the same layers as you
 * type; this checks the whole graph at once.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const files = execFileSync('git', ['ls-files', '--cached', '--others', '--exclude-standard', 'lib', 'services', 'scripts', 'bench', 'test'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\n')
  .filter((f) => f.endsWith('.ts') && existsSync(join(root, f)));

function resolveImport(from: string, specifier: string): string | undefined {
  if (!specifier.startsWith('.')) return undefined; // a package
  const base = normalize(join(dirname(from), specifier));
  for (const candidate of [base.replace(/\.js$/, '.ts'), `${base}.ts`, join(base, 'index.ts')]) if (existsSync(join(root, candidate))) return candidate;
  return undefined;
}

const graph = new Map<string, string[]>();
for (const file of files) {
  const { importedFiles } = ts.preProcessFile(readFileSync(join(root, file), 'utf8'), true, true);
  graph.set(
    file,
    importedFiles.map((i) => resolveImport(file, i.fileName)).filter((f): f is string => f !== undefined),
  );
}

test('the sources have no import cycle, counting type-only imports', (t) => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (file: string) => {
    state.set(file, 'open');
    stack.push(file);
    for (const next of graph.get(file) ?? []) {
      if (state.get(next) === 'open') cycles.push([...stack.slice(stack.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(file, 'done');
  };
  for (const file of graph.keys()) if (!state.has(file)) visit(file);
  t.deepEqual(cycles, []);
  t.true(graph.size > 300, `read ${graph.size} files`);
});

test('layers point one way: lib imports no service or script, a service no script and no other service', (t) => {
  const layer = (file: string) =>
    file
      .split('/')
      .slice(0, file.startsWith('services/') ? 2 : 1)
      .join('/');
  const wrong: string[] = [];
  for (const [file, imports] of graph) {
    const from = layer(file);
    for (const target of imports) {
      const to = layer(target);
      const up = (from === 'lib' && to !== 'lib') || (from.startsWith('services/') && to !== 'lib' && to !== from);
      if (up) wrong.push(`${file} → ${relative('.', target)}`);
    }
  }
  t.deepEqual(wrong, []);
});
