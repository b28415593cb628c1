import { closeSync, mkdirSync, mkdtempSync, readSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { MAX_NAME_BYTES } from '../lib/contracts/names.js';
import { AreaRoot, MAX_PATH_BYTES, normalizeVirtualPath, type NormalizeOptions } from '../services/ftp/common/path-resolver.js';

const REFUSED = 'ERR_PATH_REFUSED';
const NOT_FOUND = 'ERR_NOT_FOUND';

// ---------------------------------------------------------------------------------------------
// normalizeVirtualPath

test('normalisation: accepted paths and their virtual form', (t) => {
  const cases: Array<[input: string, options: NormalizeOptions, expected: string]> = [
    ['/a/b', {}, '/a/b'],
    ['/', {}, '/'],
    ['', {}, '/'],
    ['.', {}, '/'],
    ['a', {}, '/a'],
    ['a/./b//c', {}, '/a/b/c'],
    ['//a///b/', {}, '/a/b'],
    ['/a/b/.', {}, '/a/b'],
    ['/a/./b/../c', {}, '/a/c'],
    ['...', {}, '/...'],
    ['..a/b..', {}, '/..a/b..'],
    // relative paths start from cwd
    ['b/c', { cwd: '/x' }, '/x/b/c'],
    ['./b', { cwd: '/x' }, '/x/b'],
    ['', { cwd: '/x' }, '/x'],
    ['..', { cwd: '/x/y' }, '/x'],
    ['../z', { cwd: '/x/y' }, '/x/z'],
    ['/abs', { cwd: '/x' }, '/abs'],
    // clamped (the default): a .. above the root stays at the root
    ['../../etc', {}, '/etc'],
    ['../../etc', { clamp: true }, '/etc'],
    ['/../../../etc/passwd', {}, '/etc/passwd'],
    ['..', {}, '/'],
    ['/a/../..', {}, '/'],
    ['../../../etc', { cwd: '/x' }, '/etc'],
    ['/a/../../b', {}, '/b'],
    // not clamped: a .. that stays inside is still fine
    ['/a/../b', { clamp: false }, '/b'],
    ['/a/b/../../c', { clamp: false }, '/c'],
    ['../y', { cwd: '/x', clamp: false }, '/y'],
    ['/a/..', { clamp: false }, '/'],
  ];
  for (const [input, options, expected] of cases) {
    t.is(normalizeVirtualPath(input, options), expected, `${JSON.stringify(input)} ${JSON.stringify(options)}`);
  }
});

test('normalisation: clamp:false refuses any .. above the root', (t) => {
  const cases: Array<[input: string, options: NormalizeOptions]> = [
    ['../../etc', { clamp: false }],
    ['..', { clamp: false }],
    ['/..', { clamp: false }],
    ['/a/../..', { clamp: false }],
    ['/a/../../b', { clamp: false }],
    ['/a/b/../../../c', { clamp: false }],
    ['../..', { cwd: '/x', clamp: false }],
    ['../../etc', { cwd: '/x', clamp: false }],
  ];
  for (const [input, options] of cases) {
    t.throws(() => normalizeVirtualPath(input, options), { code: REFUSED }, `${JSON.stringify(input)} ${JSON.stringify(options)}`);
  }
});

test('normalisation: refused characters, encodings and lengths', (t) => {
  const longName = 'n'.repeat(MAX_NAME_BYTES + 1);
  const longPath = '/' + `${'d'.repeat(99)}/`.repeat(41) + 'f'; // 4102 bytes
  const cases: Array<[label: string, input: string]> = [
    ['NUL', '/a\u0000b'],
    ['NUL at the end', '/a.txt\u0000.jpg'],
    ['newline', '/a\nb'],
    ['carriage return', '/a\rb'],
    ['tab', '/a\tb'],
    ['unit separator', '/a\u001fb'],
    ['DEL', '/a\u007fb'],
    ['backslash inside', '/a\\b'],
    ['backslash at the start', '\\a'],
    ['backslash at the end', '/a\\'],
    ['backslash traversal', '..\\..\\etc'],
    ['%2e%2e', '/%2e%2e/etc'],
    ['%2E%2E upper case', '/%2E%2E/etc'],
    ['%2F', '/a%2Fb'],
    ['%2f lower case', '/a%2fb'],
    ['%00', '/a%00b'],
    ['%5c', '/a%5cb'],
    ['%5C', '/a%5Cb'],
    ['%25 (encoded percent)', '/a%25b'],
    ['%20', '/a%20b'],
    ['256-byte name', `/${longName}`],
    ['256-byte name, relative', longName],
    ['256-byte name, multi-byte', `/${'é'.repeat(128)}`],
    ['256-byte name in the middle', `/a/${longName}/b`],
    ['>4096-byte path', longPath],
    ['>4096-byte path of multi-byte chars', '/' + 'ü'.repeat(2048)],
    ['>4096-byte path of short names', '/a'.repeat(2049)],
  ];
  for (const [label, input] of cases) {
    for (const clamp of [true, false]) {
      const err = t.throws(() => normalizeVirtualPath(input, { clamp }), { code: REFUSED }, `${label} (clamp ${clamp})`);
      if (err) t.false(err.message.includes('\u0000'), `${label}: the message does not echo the raw path`);
    }
  }
  t.true(Buffer.byteLength(longPath) > MAX_PATH_BYTES);
});

test('normalisation: accepted edge cases', (t) => {
  const name255 = 'n'.repeat(MAX_NAME_BYTES);
  const multiByte255 = 'é'.repeat(127) + 'a'; // 255 bytes
  const path4096 = '/' + `${'d'.repeat(99)}/`.repeat(40) + 'f'.repeat(MAX_PATH_BYTES - 1 - 100 * 40);
  t.is(Buffer.byteLength(multiByte255), 255);
  t.is(Buffer.byteLength(path4096), MAX_PATH_BYTES);
  const cases: Array<[label: string, input: string, expected: string]> = [
    ['255-byte name', `/${name255}`, `/${name255}`],
    ['255-byte multi-byte name', `/${multiByte255}`, `/${multiByte255}`],
    ['4096-byte path', path4096, path4096],
    ['unicode names', 'données/ü.txt', '/données/ü.txt'],
    ['unicode, absolute', '/日本語/ファイル.bin', '/日本語/ファイル.bin'],
    ['emoji', '/📦/v1.0.0/🚀.zip', '/📦/v1.0.0/🚀.zip'],
    ['lone %', '/100%.txt', '/100%.txt'],
    ['% then one hex digit', '/a%2', '/a%2'],
    ['% then non-hex', '/50%off/%zz', '/50%off/%zz'],
    ['% at the end', '/a%', '/a%'],
    ['spaces', '/my file.txt', '/my file.txt'],
    ['plus and ampersand', '/a+b&c=d', '/a+b&c=d'],
  ];
  for (const [label, input, expected] of cases) t.is(normalizeVirtualPath(input), expected, label);
});

test('normalisation: output never holds . or .. segments, and is idempotent', (t) => {
  const inputs = ['a/./b//c', '../../etc', '/a/../b', '..', '/x/y/z/../../..', 'a/b/c/../../../../..', '/./.././a/'];
  for (const input of inputs) {
    const out = normalizeVirtualPath(input);
    t.true(out.startsWith('/'), input);
    t.false(
      out.split('/').some((s) => s === '.' || s === '..'),
      input,
    );
    t.is(normalizeVirtualPath(out), out, `idempotent: ${input}`);
    t.is(normalizeVirtualPath(out, { clamp: false }), out, `normal form passes clamp:false: ${input}`);
  }
});

// ---------------------------------------------------------------------------------------------
// AreaRoot

interface Layout {
  base: string;
  /** The area root, as created (not yet realpath'd). */
  root: string;
  realRoot: string;
  outside: string;
}

/**
 * base/
 *   root/            the area
 *     file.txt       "hello area"
 *     sub/inner.txt  "inner"
 *     dir/           an empty directory
 *   outside/secret.txt
 *   root-evil/secret.txt   a sibling whose name starts with the root's name
 */
function makeLayout(t: ExecutionContext): Layout {
  const base = mkdtempSync(join(tmpdir(), 'ffs-path-resolver-'));
  t.teardown(() => rmSync(base, { recursive: true, force: true }));
  const root = join(base, 'root');
  const outside = join(base, 'outside');
  mkdirSync(join(root, 'sub'), { recursive: true });
  mkdirSync(join(root, 'dir'));
  mkdirSync(outside);
  mkdirSync(join(base, 'root-evil'));
  writeFileSync(join(root, 'file.txt'), 'hello area');
  writeFileSync(join(root, 'sub', 'inner.txt'), 'inner');
  writeFileSync(join(outside, 'secret.txt'), 'secret');
  writeFileSync(join(base, 'root-evil', 'secret.txt'), 'evil secret');
  return { base, root, realRoot: realpathSync(root), outside };
}

function readFd(fd: number, size: number): string {
  const buffer = Buffer.alloc(size);
  const n = readSync(fd, buffer, 0, size, 0);
  return buffer.subarray(0, n).toString('utf8');
}

test('AreaRoot: a regular file opens and its descriptor is readable', (t) => {
  const { root, realRoot } = makeLayout(t);
  const area = new AreaRoot(root);
  t.is(area.root, realRoot);
  for (const [virtual, content, real] of [
    ['/file.txt', 'hello area', join(realRoot, 'file.txt')],
    ['/sub/inner.txt', 'inner', join(realRoot, 'sub', 'inner.txt')],
  ] as const) {
    const opened = area.openFile(virtual);
    try {
      t.true(opened.stats.isFile(), virtual);
      t.is(opened.stats.size, Buffer.byteLength(content), virtual);
      t.is(opened.realPath, real, virtual);
      t.is(readFd(opened.fd, 64), content, virtual);
    } finally {
      closeSync(opened.fd);
    }
  }
  t.is(area.realPathOf('/'), realRoot);
  t.is(area.realPathOf('/sub'), join(realRoot, 'sub'));
});

test('AreaRoot: a normalised client path opens the file inside the area', (t) => {
  const { root, realRoot } = makeLayout(t);
  const area = new AreaRoot(root);
  const opened = area.openFile(normalizeVirtualPath('../../sub/./inner.txt'));
  try {
    t.is(opened.realPath, join(realRoot, 'sub', 'inner.txt'));
    t.is(readFd(opened.fd, 64), 'inner');
  } finally {
    closeSync(opened.fd);
  }
});

test('AreaRoot: missing files, directories and non-directories are ERR_NOT_FOUND', (t) => {
  const { root } = makeLayout(t);
  const area = new AreaRoot(root);
  const cases: Array<[label: string, virtual: string]> = [
    ['missing file', '/nope.txt'],
    ['missing directory', '/nope/file.txt'],
    ['directory', '/dir'],
    ['directory with files', '/sub'],
    ['the root itself', '/'],
    ['beneath a regular file', '/file.txt/x'],
  ];
  for (const [label, virtual] of cases) t.throws(() => area.openFile(virtual), { code: NOT_FOUND }, label);
  t.throws(() => area.realPathOf('/nope.txt'), { code: NOT_FOUND }, 'realPathOf of a missing file');
});

test('AreaRoot: a symlink inside the root pointing outside is refused', (t) => {
  const { base, root, outside } = makeLayout(t);
  symlinkSync(join(outside, 'secret.txt'), join(root, 'link-out-abs'));
  symlinkSync('../outside/secret.txt', join(root, 'link-out-rel'));
  symlinkSync('/etc/hostname', join(root, 'link-etc'));
  // A sibling directory whose name merely starts with the root's name is still outside.
  symlinkSync('../root-evil/secret.txt', join(root, 'link-prefix'));
  symlinkSync(join(base, 'root-evil'), join(root, 'dir-prefix'));
  // A chain: inside -> inside -> outside.
  symlinkSync('link-out-abs', join(root, 'link-chain'));
  const area = new AreaRoot(root);
  for (const virtual of ['/link-out-abs', '/link-out-rel', '/link-prefix', '/dir-prefix/secret.txt', '/link-chain']) {
    t.throws(() => area.openFile(virtual), { code: REFUSED }, `openFile ${virtual}`);
    t.throws(() => area.realPathOf(virtual), { code: REFUSED }, `realPathOf ${virtual}`);
  }
  const etc = t.throws<Error & { code?: string }>(() => area.openFile('/link-etc'));
  t.true(etc?.code === REFUSED || etc?.code === NOT_FOUND, `/link-etc: ${etc?.code}`); // NOT_FOUND if /etc/hostname is absent
});

test('AreaRoot: a symlink inside pointing to a file inside is allowed; realPath is the target', (t) => {
  const { root, realRoot } = makeLayout(t);
  symlinkSync('file.txt', join(root, 'link-rel'));
  symlinkSync(join(root, 'sub', 'inner.txt'), join(root, 'link-abs'));
  symlinkSync('../file.txt', join(root, 'sub', 'link-up'));
  symlinkSync('sub', join(root, 'dirlink'));
  const area = new AreaRoot(root);
  for (const [virtual, target, content] of [
    ['/link-rel', join(realRoot, 'file.txt'), 'hello area'],
    ['/link-abs', join(realRoot, 'sub', 'inner.txt'), 'inner'],
    ['/sub/link-up', join(realRoot, 'file.txt'), 'hello area'],
    ['/dirlink/inner.txt', join(realRoot, 'sub', 'inner.txt'), 'inner'],
  ] as const) {
    const opened = area.openFile(virtual);
    try {
      t.is(opened.realPath, target, virtual);
      t.is(readFd(opened.fd, 64), content, virtual);
    } finally {
      closeSync(opened.fd);
    }
  }
});

test('AreaRoot: a symlinked directory pointing outside refuses every file beneath it', (t) => {
  const { root, outside } = makeLayout(t);
  symlinkSync(outside, join(root, 'out'));
  symlinkSync('../../outside', join(root, 'sub', 'out-rel'));
  const area = new AreaRoot(root);
  for (const virtual of ['/out/secret.txt', '/sub/out-rel/secret.txt', '/out']) {
    t.throws(() => area.openFile(virtual), { code: REFUSED }, virtual);
  }
  // A missing file beneath it must not be served either (refused or not found, never opened).
  const missing = t.throws<Error & { code?: string }>(() => area.openFile('/out/missing.txt'));
  t.true(missing?.code === REFUSED || missing?.code === NOT_FOUND, `/out/missing.txt: ${missing?.code}`);
});

test('AreaRoot: dangling symlinks and loops are ERR_NOT_FOUND', (t) => {
  const { root } = makeLayout(t);
  symlinkSync('missing.txt', join(root, 'dangling'));
  symlinkSync('loop-b', join(root, 'loop-a'));
  symlinkSync('loop-a', join(root, 'loop-b'));
  const area = new AreaRoot(root);
  for (const virtual of ['/dangling', '/loop-a', '/loop-a/x']) {
    t.throws(() => area.openFile(virtual), { code: NOT_FOUND }, virtual);
  }
});

test('AreaRoot: a root reached through a symlink works', (t) => {
  const { base, root, realRoot, outside } = makeLayout(t);
  const rootLink = join(base, 'root-link');
  symlinkSync(root, rootLink);
  const area = new AreaRoot(rootLink);
  t.is(area.root, realRoot, 'the root is resolved once');
  const opened = area.openFile('/file.txt');
  try {
    t.is(opened.realPath, join(realRoot, 'file.txt'));
    t.is(readFd(opened.fd, 64), 'hello area');
  } finally {
    closeSync(opened.fd);
  }
  // Symlinks inside are still judged against the real root.
  symlinkSync('file.txt', join(root, 'inside'));
  symlinkSync(join(outside, 'secret.txt'), join(root, 'outside'));
  const inside = area.openFile('/inside');
  closeSync(inside.fd);
  t.is(inside.realPath, join(realRoot, 'file.txt'));
  t.throws(() => area.openFile('/outside'), { code: REFUSED });
});

test('AreaRoot: the constructor needs an existing root', (t) => {
  const { base } = makeLayout(t);
  t.throws(() => new AreaRoot(join(base, 'does-not-exist')));
});
