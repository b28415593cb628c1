import test from 'ava';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderApiDoc } from '../scripts/gen-api-doc.js';
import { WebErrors } from '../services/web/errors.js';
import { HTTP_STATUS } from '../services/web/http/status.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

test('API.md lists every route and error code (regenerate: node dist/scripts/gen-api-doc.js > services/web/API.md)', async (t) => {
  const committed = await readFile(join(root, 'services', 'web', 'API.md'), 'utf8');
  t.is(committed.trimEnd(), renderApiDoc().trimEnd());
});

test('every web host error code has its HTTP status, in one table', (t) => {
  for (const error of Object.values(WebErrors)) t.true(Object.hasOwn(HTTP_STATUS, error.code), error.code);
  for (const status of Object.values(HTTP_STATUS)) t.true(status >= 400 && status <= 599);
});
