import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import * as commlink from '../lib/commlink/index.js';
import { CodedError, isError } from '../lib/errors/index.js';

const protocol = readFileSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'lib', 'commlink', 'PROTOCOL.md'), 'utf8');

test('every commlink error code is unique, exported and documented in PROTOCOL.md', (t) => {
  const entries = Object.entries(commlink.Errors);
  const codes = entries.map(([, def]) => def.code);
  t.is(new Set(codes).size, codes.length, 'codes are unique');
  for (const [name, def] of entries) {
    t.regex(def.code, /^ERR_[A-Z0-9_]+$/, name);
    t.true(protocol.includes(`| \`${def.code}\` | ${def.description} |`), `${def.code} is in the error table`);
    const err = def('x');
    t.true(err instanceof CodedError);
    t.is(err.code, def.code);
    t.true(isError(err, def));
  }
  const documented = [...protocol.matchAll(/^\| `(ERR_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]);
  t.deepEqual(documented.sort(), [...codes].sort(), 'no stale codes in the table');
});
