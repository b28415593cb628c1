import { spawn } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import test from 'ava';
import { createLogger, REDACTED, SECRET_FIELDS, type LoggerOptions } from '../lib/log/logger.js';

const loggerModule = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', 'lib', 'log', 'logger.js')).href;

function collect(options: Omit<LoggerOptions, 'write'> = {}) {
  const raw: string[] = [];
  const log = createLogger({ ...options, write: (line) => raw.push(line) });
  return { log, raw, records: () => raw.map((line) => JSON.parse(line) as Record<string, unknown>) };
}

test('a line is one JSON object: level as a word, ISO time, the base and child fields, msg, then the call fields', (t) => {
  const { log, raw, records } = collect({ fields: { service: 'web' } });
  const before = Date.now();
  log.child({ requestId: 'r-1' }).info('request', { status: 200, route: '/x' });
  t.is(raw.length, 1);
  t.false(raw[0]!.includes('\n'), 'write gets the line without its newline');
  const [record] = records();
  t.deepEqual(Object.keys(record!), ['level', 'time', 'service', 'requestId', 'msg', 'status', 'route']);
  t.like(record, { level: 'info', service: 'web', requestId: 'r-1', msg: 'request', status: 200, route: '/x' });
  t.regex(record!.time as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  t.true(Date.parse(record!.time as string) >= before - 1);
});

test('levels below the logger’s level are dropped; the default level is info', (t) => {
  const warn = collect({ level: 'warn' });
  for (const level of ['debug', 'info', 'warn', 'error'] as const) warn.log[level](level);
  t.deepEqual(
    warn.records().map((r) => [r.level, r.msg]),
    [
      ['warn', 'warn'],
      ['error', 'error'],
    ],
  );
  const byDefault = collect();
  for (const level of ['debug', 'info', 'warn', 'error'] as const) byDefault.log.child({ c: 1 })[level](level);
  t.deepEqual(
    byDefault.records().map((r) => r.level),
    ['info', 'warn', 'error'],
  );
  const debug = collect({ level: 'debug' });
  debug.log.debug('d');
  t.is(debug.records()[0]!.level, 'debug');
});

test('child fields merge: a child carries its parent’s fields and its own, the parent stays as it was', (t) => {
  const { log, records } = collect({ fields: { service: 'ftp' } });
  const session = log.child({ session: 's1' });
  session.child({ transfer: 7 }).info('a', { bytes: 1 });
  session.info('b');
  log.info('c');
  t.deepEqual(
    records().map(({ level: _level, time: _time, ...rest }) => rest),
    [
      { service: 'ftp', session: 's1', transfer: 7, msg: 'a', bytes: 1 },
      { service: 'ftp', session: 's1', msg: 'b' },
      { service: 'ftp', msg: 'c' },
    ],
  );
});

test('the secret-bearing field names are redacted', (t) => {
  const required = ['password', 'token', 'apiToken', 'ticket', 'key', 'privateKey', 'secret', 'passphrase', 'authorization', 'cookie', 'sessionKey'];
  for (const name of required) t.true(SECRET_FIELDS.has(name), name);
});

test('a secret never reaches the output: at the top level, nested, in arrays, in base fields and in child bindings', (t) => {
  let n = 0;
  const secrets: string[] = [];
  const secret = () => {
    const value = `s3cr3t-${++n}-value`;
    secrets.push(value);
    return value;
  };
  for (const name of SECRET_FIELDS) {
    const { log, raw, records } = collect({ fields: { [name]: secret(), base: { [name]: secret() } } });
    const child = log.child({ [name]: secret(), binding: { deeper: { [name]: secret() } }, list: [{ [name]: secret() }] });
    child.info('call', {
      [name]: secret(),
      one: { [name]: secret() },
      two: { level: { [name]: secret() } },
      three: { a: { b: { [name]: secret() } } },
      objects: [{ [name]: secret() }, { nested: [{ [name]: secret() }] }],
      whole: { [name]: { kept: secret() } },
      numeric: { [name]: 1234567 },
    });
    const output = raw.join('\n');
    for (const value of secrets) t.false(output.includes(value), `${name}: ${value} reached the output`);
    t.false(output.includes('1234567'), `${name}: a number under a secret name`);
    const [record] = records();
    t.is(record![name], REDACTED, `${name} at the top level`);
    t.deepEqual(record!.one, { [name]: REDACTED }, `${name} one level down`);
    t.deepEqual(record!.objects, [{ [name]: REDACTED }, { nested: [{ [name]: REDACTED }] }], `${name} in arrays of objects`);
    t.deepEqual(record!.binding, { deeper: { [name]: REDACTED } }, `${name} in a child binding`);
    secrets.length = 0;
  }
});

test('errors under any field name are logged whole, with code and cause chain; bigints as strings', (t) => {
  const { log, records } = collect();
  const root = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
  const middle = new TypeError('write failed', { cause: root });
  const outer = new Error('upload failed', { cause: middle });
  const many = new AggregateError([new Error('first'), new Error('second')], 'all failed');
  log.error('failed', { failure: outer, err: root, nested: { many }, size: 2n ** 70n });
  const [record] = records();
  t.like(record!.failure, {
    name: 'Error',
    message: 'upload failed',
    cause: { name: 'TypeError', message: 'write failed', cause: { name: 'Error', message: 'disk full', code: 'ENOSPC' } },
  });
  t.is((record!.failure as { stack: string }).stack, outer.stack!);
  t.is((record!.failure as { cause: { cause: { stack: string } } }).cause.cause.stack, root.stack!);
  t.deepEqual(record!.err, { name: 'Error', message: 'disk full', stack: root.stack, code: 'ENOSPC' }, 'under `err` as under any other name');
  t.like(record!.nested, { many: { name: 'AggregateError', message: 'all failed', errors: [{ message: 'first' }, { message: 'second' }] } });
  t.is(record!.size, (2n ** 70n).toString());
});

test('an error in a child binding and a cycle in a field are written, not thrown', (t) => {
  const { log, records } = collect();
  const cycle: Record<string, unknown> = { name: 'loop' };
  cycle.self = cycle;
  log.child({ cause: new Error('why') }).info('x', { cycle });
  const [record] = records();
  t.like(record!.cause, { name: 'Error', message: 'why' });
  t.is((record!.cycle as { name: string }).name, 'loop');
  t.true(JSON.stringify(record!.cycle).includes('[too deep]'));
});

test('by default lines go to stderr synchronously: a process killed right after logging keeps every line', async (t) => {
  const lines = 2000; // well past a pipe's buffer
  const script = `
    const { createLogger } = await import(${JSON.stringify(loggerModule)});
    const log = createLogger({ fields: { service: 'probe' } });
    for (let i = 0; i < ${lines}; i++) log.info('line', { i, padding: 'x'.repeat(100) });
    process.kill(process.pid, 'SIGKILL'); // no exit handler runs: only lines already written survive
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  const signal = await new Promise<NodeJS.Signals | null>((resolve) => child.on('close', (_code, killedBy) => resolve(killedBy)));
  t.is(signal, 'SIGKILL');
  t.is(stdout, '');
  const records = stderr
    .trimEnd()
    .split('\n')
    .map((line) => JSON.parse(line) as { i: number; service: string });
  t.is(records.length, lines);
  t.deepEqual(
    records.map((r) => r.i),
    Array.from({ length: lines }, (_, i) => i),
  );
});
