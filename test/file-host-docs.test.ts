import test from 'ava';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FileHostErrors } from '../services/ftp/errors.js';
import { FILE_HOST_OPS } from '../services/ftp/ops.js';
import { WebErrors } from '../services/web/errors.js';
import { FORWARDED_OPS } from '../services/web/gateway.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('the file host README documents every operation and error code', async (t) => {
  const readme = await readFile(join(root, 'services', 'ftp', 'README.md'), 'utf8');
  for (const op of FILE_HOST_OPS) t.true(readme.includes(`| \`${op.name}\` |`), op.name);
  for (const error of Object.values(FileHostErrors)) t.true(readme.includes(`| \`${error.code}\` |`), error.code);
});

test('the web README documents every error code and every forwarded operation', async (t) => {
  const readme = await readFile(join(root, 'services', 'web', 'README.md'), 'utf8');
  for (const error of Object.values(WebErrors)) t.true(readme.includes(`| \`${error.code}\` |`), error.code);
  for (const op of FORWARDED_OPS) t.true(readme.includes(`\`${op}\``), op);
});
