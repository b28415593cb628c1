import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type ssh2 from 'ssh2';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { LISTED_GID, LISTED_UID } from '../services/ftp/common/ls-line.js';
import { globMatcher } from '../services/ftp/ftp/glob.js';
import { publish, startChain, type Chain } from './helpers/chain.js';
import { curl, HOST, PASSWORD, Raw, run, setup, tlsCert } from './helpers/ftp.js';
import { sftpConnect } from './helpers/sftp.js';

/*
 * What real FTP clients do (Python's ftplib, curl, lftp, rclone) against the file host's FTP
 * server. The passive ports of this file: a region of their own above ftp*.test.ts's (20000-27999)
 * and below the start tests' (29000-29999).
 */
let nextPort = 28_000 + Math.floor(Math.random() * 5) * 100;
function ports(size = 20): { passivePortMin: number; passivePortMax: number } {
  const min = nextPort;
  nextPort += size;
  return { passivePortMin: min, passivePortMax: min + size - 1 };
}

/** Python's ftplib.FTP_TLS with the given TLS version only: LIST, NLST, MLSD, RETR (hash checked), QUIT. */
const FTPLIB_TLS = `
import ftplib, hashlib, ssl, sys
host, port, user, password, path, sha, version = sys.argv[1:8]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the test certificate is self-signed
# An end without close_notify is an error (as it was before OpenSSL 3 and Python 3.10 let it pass):
# what makes unwrap() fail with SHUTDOWN_WHILE_IN_INIT when the tickets come late is seen every time.
ctx.options &= ~ssl.OP_IGNORE_UNEXPECTED_EOF
ctx.minimum_version = ctx.maximum_version = ssl.TLSVersion.TLSv1_3 if version == '1.3' else ssl.TLSVersion.TLSv1_2
ftp = ftplib.FTP_TLS(context=ctx, timeout=20)
ftp.connect(host, int(port))
ftp.login(user, password)
ftp.prot_p()
directory, name = path.rsplit('/', 1)
lines = []
ftp.retrlines('LIST ' + directory, lines.append)
assert any(l.endswith(' ' + name) for l in lines), lines
assert ftp.nlst(directory) == [name], ftp.nlst(directory)
assert name in [n for n, facts in ftp.mlsd(directory)]
digest = hashlib.sha256()
ftp.retrbinary('RETR ' + path, digest.update)
assert digest.hexdigest() == sha, digest.hexdigest()
print(ftp.sock.version())
ftp.quit()
`;

for (const version of ['1.3', '1.2'] as const) {
  test(`FTPS with TLS ${version}: Python's ftplib lists (LIST, NLST, MLSD) and downloads over protected data connections`, async (t) => {
    const { ftp, content, path } = await setup(t, { ftp: { requireTls: true, ...ports() } });
    const sha = createHash('sha256').update(content).digest('hex');
    const args = ['-c', FTPLIB_TLS, HOST, String(ftp.address.port), 'globex', PASSWORD, path, sha, version];
    for (let i = 0; i < 3; i++) {
      const { stdout } = await run('/usr/bin/python3', args, { timeout: 60_000 }).catch((err: { stderr?: string; message: string }) => {
        throw new Error(`ftplib failed: ${err.stderr ?? err.message}`);
      });
      t.is(stdout.toString().trim(), `TLSv${version}`);
    }
  });
}

const hostKey = generateEd25519().private;

interface Area {
  chain: Chain;
  /** The file host's own FTP server (services/ftp/service.ts: with its checksums) and its SFTP server. */
  ftpPort: number;
  sftpPort: number;
  content: Buffer;
  /** /acme-db/1.0.0/acme-db-1.0.0.tar.gz */
  path: string;
  /** The area's /acme-db/1.0.0 on disk, where the tests put more files. */
  dirOnDisk: string;
}

/** A file host with FTP and SFTP (as the service runs them), one customer, one staged file. */
async function area(t: ExecutionContext): Promise<Area> {
  const range = ports();
  const chain = await startChain(t, {
    fileHost: { sftp: { port: 0, hostKey }, ftp: { port: 0, ...range, passiveAddress: '', requireTls: false, tls: await tlsCert() } },
  });
  const content = randomBytes(300_000);
  await publish(chain, '1.0.0', content);
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
  const staged = await chain.web.fulfillment.stage('globex', 'acme-db', '1.0.0');
  const path = staged.files[0]!.path as string;
  const dirOnDisk = join(chain.fileDir, 'areas', 'globex', 'acme-db', '1.0.0');
  return { chain, ftpPort: chain.fileHost.ftpAddress!.port, sftpPort: chain.fileHost.sftpAddress!.port, content, path, dirOnDisk };
}

const hex = (algorithm: string, data: Buffer) => createHash(algorithm).update(data).digest('hex');

async function lftp(port: number, commands: string, cwd?: string): Promise<string> {
  const script = `set ftp:ssl-allow no; set net:max-retries 1; set net:timeout 15; ${commands}; bye`;
  const { stdout } = await run('/usr/bin/lftp', ['-u', `globex,${PASSWORD}`, '-p', String(port), '-e', script, HOST], {
    timeout: 60_000,
    ...(cwd ? { cwd } : {}),
  });
  return stdout.toString();
}

test('HASH, OPTS HASH, XSHA256, XSHA1 and XMD5: checksums by the RETR path rules, announced in FEAT', async (t) => {
  const { ftpPort, content, path, dirOnDisk } = await area(t);
  const raw = await Raw.open(t, ftpPort);
  await raw.reply();
  t.is((await raw.send(`HASH ${path}`)).code, 530, 'not before login');
  await raw.login();

  const feat = (await raw.send('FEAT')).text.split('\n');
  t.true(feat.includes(' HASH SHA-256*;SHA-1;MD5'), feat.join('\n'));
  for (const command of ['XSHA256', 'XSHA1', 'XMD5']) t.true(feat.includes(` ${command}`), command);

  t.deepEqual(await raw.send(`HASH ${path}`), { code: 213, text: `213 SHA-256 0-${content.length} ${hex('sha256', content)} ${path}` });
  t.deepEqual(await raw.send('OPTS HASH'), { code: 200, text: '200 SHA-256' });
  t.deepEqual(await raw.send('OPTS HASH sha-1'), { code: 200, text: '200 SHA-1' });
  t.true((await raw.send('FEAT')).text.split('\n').includes(' HASH SHA-256;SHA-1*;MD5'));
  t.deepEqual(await raw.send('HASH acme-db/1.0.0/acme-db-1.0.0.tar.gz'), {
    code: 213,
    text: `213 SHA-1 0-${content.length} ${hex('sha1', content)} acme-db/1.0.0/acme-db-1.0.0.tar.gz`,
  });
  t.is((await raw.send('OPTS HASH SHA-512')).code, 501);
  t.deepEqual(await raw.send('OPTS HASH'), { code: 200, text: '200 SHA-1' }, 'an unknown algorithm leaves the selection');
  t.deepEqual(await raw.send('OPTS HASH MD5'), { code: 200, text: '200 MD5' });
  t.is((await raw.send(`HASH ${path}`)).text, `213 MD5 0-${content.length} ${hex('md5', content)} ${path}`);

  t.deepEqual(await raw.send(`XSHA256 ${path}`), { code: 250, text: `250 ${hex('sha256', content)}` });
  t.deepEqual(await raw.send(`XSHA1 ${path}`), { code: 250, text: `250 ${hex('sha1', content)}` });
  t.deepEqual(await raw.send(`XMD5 ${path}`), { code: 250, text: `250 ${hex('md5', content)}` });
  t.is((await raw.send('CWD /acme-db/1.0.0')).code, 250);
  t.deepEqual(await raw.send('XSHA1 acme-db-1.0.0.tar.gz'), { code: 250, text: `250 ${hex('sha1', content)}` }, 'relative to the working directory');

  // Not a file: missing, a directory, outside the area (clamped at the root), a link out of the area, nothing.
  await symlink('/etc/passwd', join(dirOnDisk, 'passwd'));
  for (const command of ['HASH', 'XSHA256', 'XSHA1', 'XMD5']) {
    t.is((await raw.send(`${command} /acme-db/1.0.0/nope.tar.gz`)).code, 550, `${command} of a missing file`);
    t.is((await raw.send(`${command} /acme-db`)).code, 550, `${command} of a directory`);
    t.is((await raw.send(`${command} ../../../../etc/passwd`)).code, 550, `${command} above the root`);
    t.is((await raw.send(`${command} passwd`)).code, 550, `${command} of a link out of the area`);
    t.is((await raw.send(command)).code, 501, `${command} without a path`);
  }

  // lftp's `quote` (rclone's FTP backend has no checksums: its Hashes() is empty).
  const quoted = await lftp(ftpPort, `quote HASH ${path}; quote XMD5 ${path}`);
  t.true(quoted.includes(`213 SHA-256 0-${content.length} ${hex('sha256', content)} ${path}`), quoted);
  t.true(quoted.includes(`250 ${hex('md5', content)}`), quoted);
});

/** Raw listings through curl: `-X` replaces curl's LIST with the command given, run in the URL's directory. */
async function listed(port: number, dir: string, command?: string): Promise<string> {
  const url = `ftp://globex:${encodeURIComponent(PASSWORD)}@${HOST}:${port}${dir}`;
  const res = await curl([...(command ? ['-X', command] : []), url]);
  if (res.code !== 0) throw new Error(`curl ${command ?? 'LIST'} ${dir}: ${res.stderr}`);
  return res.stdout.toString();
}

const linesOf = (text: string) => text.split(/\r?\n/).filter((l) => l !== '');

test('globs in NLST and LIST: *, ? and [...] in any part of the path; dot names only for a pattern with a leading dot; no match is 450; lftp mget *.txt', async (t) => {
  const { ftpPort, dirOnDisk } = await area(t);
  const files: Record<string, string> = { 'notes.txt': 'notes\n', 'readme.txt': 'read me\n', '.hidden.txt': 'hidden\n', 'data[1].bin': 'one\n' };
  for (const [name, text] of Object.entries(files)) await writeFile(join(dirOnDisk, name), text);
  const long = `${'a'.repeat(200)}.log`;
  await writeFile(join(dirOnDisk, long), '');

  t.deepEqual(linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'NLST *.txt')), ['notes.txt', 'readme.txt']);
  t.deepEqual(linesOf(await listed(ftpPort, '/', 'NLST /acme-db/1.0.0/*.t?t')), ['/acme-db/1.0.0/notes.txt', '/acme-db/1.0.0/readme.txt']);
  t.deepEqual(linesOf(await listed(ftpPort, '/', 'NLST acme-db/*/[!n]*.txt')), ['acme-db/1.0.0/readme.txt'], 'a glob in a directory part');
  t.deepEqual(linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'NLST .h*')), ['.hidden.txt'], 'a pattern that starts with a dot may match dot names');
  t.deepEqual(linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'NLST *.tar.gz')), ['acme-db-1.0.0.tar.gz']);
  t.deepEqual(linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'NLST data[1].bin')), ['data[1].bin'], 'a name that exists is taken literally');
  t.deepEqual(linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'NLST data?1].bin')), ['data[1].bin']);
  const dirs = linesOf(await listed(ftpPort, '/', 'LIST acme-db/*/'));
  t.is(dirs.length, 1);
  t.regex(dirs[0]!, /^dr-xr-xr-x {4}2 ftp {6}ftp {6} +4096 \w{3} [ \d]\d [\d:]{5} acme-db\/1\.0\.0$/);
  const txt = linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'LIST -l *.txt'));
  t.deepEqual(
    txt.map((l) => l.split(' ').at(-1)),
    ['notes.txt', 'readme.txt'],
  );

  // No match: 450 before the data connection is used, and the passive port is given back.
  const raw = await Raw.open(t, ftpPort);
  await raw.reply();
  await raw.login();
  for (const command of ['NLST *.nothing', 'LIST /acme-db/*/nothing*', 'NLST /acme-db/1.0.0/*.txt/*', 'NLST /acme-db/1.0.0/*.txt/..']) {
    t.is((await raw.send('EPSV')).code, 229);
    t.deepEqual(await raw.send(command), { code: 450, text: '450 No files found' }, command);
  }
  t.is((await raw.send('NLST *\u0000')).code, 550, 'refused characters are refused as in any path');

  // lftp's mget expands the glob itself from a listing; the classic ftp client sends NLST *.txt: both get the two files.
  const local = await mkdtemp(join(tmpdir(), 'ftp-mget-'));
  t.teardown(() => rm(local, { recursive: true, force: true }));
  await lftp(ftpPort, 'cd /acme-db/1.0.0; mget *.txt', local);
  t.deepEqual((await readdir(local)).sort(), ['notes.txt', 'readme.txt']);
  t.is(await readFile(join(local, 'readme.txt'), 'utf8'), files['readme.txt']);
});

test('STAT <path> on the control connection; . and .. in LIST -a and MLSD', async (t) => {
  const { ftpPort, path, content } = await area(t);
  const raw = await Raw.open(t, ftpPort);
  await raw.reply();
  t.is((await raw.send('STAT /acme-db')).code, 530, 'STAT with a path needs a login');
  await raw.login();

  const dir = (await raw.send('STAT /acme-db/1.0.0')).text.split('\n');
  t.is(dir[0], '213-Status of /acme-db/1.0.0:');
  t.regex(dir[1]!, new RegExp(`^ -r--r--r-- {4}1 ftp {6}ftp {6} +${content.length} \\w{3} [ \\d]\\d [\\d:]{5} acme-db-1\\.0\\.0\\.tar\\.gz$`));
  t.is(dir[2], '213 End of status');
  t.is(dir.length, 3);
  const file = (await raw.send(`STAT ${path}`)).text.split('\n');
  t.is(file.length, 3);
  t.true(file[1]!.endsWith(' acme-db-1.0.0.tar.gz'));
  const dots = (await raw.send('STAT -a /acme-db')).text.split('\n');
  t.deepEqual(
    dots.slice(1, -1).map((l) => l.split(' ').at(-1)),
    ['.', '..', '1.0.0'],
  );
  t.is((await raw.send('STAT /acme-db/nope')).code, 550);
  t.is((await raw.send('STAT /acme-db/*.nothing')).code, 450);
  t.is((await raw.send('STAT')).code, 211, 'plain STAT: the server status, as before');

  // LIST shows . and .. with -a only (as vsftpd); MLSD always has cdir and pdir.
  t.deepEqual(
    linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'LIST -a')).map((l) => l.split(' ').at(-1)),
    ['.', '..', 'acme-db-1.0.0.tar.gz'],
  );
  t.deepEqual(
    linesOf(await listed(ftpPort, '/acme-db/1.0.0/', 'LIST')).map((l) => l.split(' ').at(-1)),
    ['acme-db-1.0.0.tar.gz'],
  );
  t.deepEqual(
    linesOf(await listed(ftpPort, '/', 'MLSD')).map((l) => l.split(';')[0]),
    ['type=cdir', 'type=pdir', 'type=dir'],
  );

  // rclone (jlaffaye/ftp, MLSD) and lftp (MLSD) take the cdir/pdir entries for what they are.
  const obscured = (await run('/usr/bin/rclone', ['obscure', PASSWORD])).stdout.toString().trim();
  const rclone = await run(
    '/usr/bin/rclone',
    ['lsf', '-R', '--config', '/dev/null', '--ftp-host', HOST, '--ftp-port', String(ftpPort), '--ftp-user', 'globex', '--ftp-pass', obscured, ':ftp:/'],
    { timeout: 60_000 },
  );
  t.deepEqual(linesOf(rclone.stdout.toString()), ['acme-db/', 'acme-db/1.0.0/', 'acme-db/1.0.0/acme-db-1.0.0.tar.gz']);
  t.deepEqual(linesOf(await lftp(ftpPort, 'cls -1 /acme-db/1.0.0/')), ['/acme-db/1.0.0/acme-db-1.0.0.tar.gz']);
});

test('the same owner, group and link counts in FTP LIST and SFTP (longname and ids), whatever the real link count', async (t) => {
  const { chain, ftpPort, sftpPort, dirOnDisk } = await area(t);
  // Two more hard links to the staged object (as two more customers with the file would make).
  for (const n of [1, 2]) await link(join(dirOnDisk, 'acme-db-1.0.0.tar.gz'), join(chain.fileDir, `other-customer-${n}`));
  await mkdir(join(dirOnDisk, '..', '2.0.0')); // /acme-db now has two subdirectories: st_nlink 4

  const ftpFile = linesOf(await listed(ftpPort, '/acme-db/1.0.0/'))[0]!;
  const ftpDir = linesOf(await listed(ftpPort, '/acme-db/'))[0]!;
  const ftpRoot = linesOf(await listed(ftpPort, '/'))[0]!;
  t.regex(ftpFile, /^-r--r--r-- {4}1 ftp {6}ftp {6} /);
  t.regex(ftpDir, /^dr-xr-xr-x {4}2 ftp {6}ftp {6} +4096 .* 1\.0\.0$/);
  t.regex(ftpRoot, /^dr-xr-xr-x {4}2 ftp {6}ftp {6} +4096 .* acme-db$/);

  const { sftp, close } = await sftpConnect({ port: sftpPort, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const readdir = (dir: string) => new Promise<ssh2.FileEntry[]>((resolve, reject) => sftp.readdir(dir, (err, list) => (err ? reject(err) : resolve(list))));
  const [sftpFile] = await readdir('/acme-db/1.0.0');
  const [sftpRoot] = await readdir('/');
  const sftpDir = (await readdir('/acme-db')).find((e) => e.filename === '1.0.0')!;
  // The same line but for the minute (two listings may straddle one).
  const sameLine = (a: string, b: string) => t.is(a.replace(/\d\d:\d\d /, 'hh:mm '), b.replace(/\d\d:\d\d /, 'hh:mm '));
  sameLine(sftpFile!.longname, ftpFile);
  sameLine(sftpDir.longname, ftpDir);
  sameLine(sftpRoot!.longname, ftpRoot);
  t.deepEqual([sftpFile!.attrs.uid, sftpFile!.attrs.gid], [LISTED_UID, LISTED_GID]);
});

test('CWD to a file, or through one (file/..), is refused with 550', async (t) => {
  const { ftpPort, path } = await area(t);
  const raw = await Raw.open(t, ftpPort);
  await raw.reply();
  await raw.login();
  t.is((await raw.send('CWD /acme-db/1.0.0')).code, 250);
  t.is((await raw.send('CWD acme-db-1.0.0.tar.gz')).code, 550);
  t.is((await raw.send('CWD acme-db-1.0.0.tar.gz/..')).code, 550);
  t.is((await raw.send(`CWD ${path}/../..`)).code, 550);
  t.is((await raw.send(`CWD ${path}/.`)).code, 550);
  t.is((await raw.send('PWD')).text, '257 "/acme-db/1.0.0" is the current directory', 'unchanged by the refusals');
  t.is((await raw.send('CWD ../1.0.0/..')).code, 250);
  t.is((await raw.send('PWD')).text, '257 "/acme-db" is the current directory');
  t.is((await raw.send('CWD ../../..')).code, 250, 'above the root: clamped there');
  t.is((await raw.send('PWD')).text, '257 "/" is the current directory');
});

test('the glob matcher: sets, ranges, negation, a lone [ as itself; a pathological pattern is still linear-ish', (t) => {
  const cases: [string, string, boolean][] = [
    ['*.txt', 'notes.txt', true],
    ['*.txt', '.notes.txt', false],
    ['.*', '.notes.txt', true],
    ['?.bin', 'a.bin', true],
    ['?.bin', 'ab.bin', false],
    ['[a-c]*', 'beta', true],
    ['[!a-c]*', 'beta', false],
    ['[^a-c]*', 'delta', true],
    ['[]]x', ']x', true],
    ['a[b', 'a[b', true],
    ['*', '', true],
    ['a**b', 'axxb', true],
    ['é?', 'éß', true],
  ];
  for (const [pattern, name, expected] of cases) t.is(globMatcher(pattern)(name), expected, `${pattern} ${name}`);
  // Backtracking to the last * only: 40 stars against 255 characters is a few thousand steps, not 255^40.
  t.false(globMatcher(`${'*a'.repeat(40)}*b`)('a'.repeat(255)));
});

test('a path that can name only a directory (file/, file/.) names no file: RETR, SIZE, MDTM, HASH 550; SFTP OPEN and STAT no such file; ssh sha256sum fails', async (t) => {
  const { ftpPort, sftpPort, content, path } = await area(t);
  const raw = await Raw.open(t, ftpPort);
  await raw.reply();
  await raw.login();
  for (const form of [`${path}/`, `${path}/.`, `${path}//`]) {
    t.is((await raw.send(`SIZE ${form}`)).code, 550, `SIZE ${form}`);
    t.is((await raw.send(`MDTM ${form}`)).code, 550, `MDTM ${form}`);
    t.is((await raw.send(`HASH ${form}`)).code, 550, `HASH ${form}`);
    const pasv = await raw.send('PASV');
    t.is(pasv.code, 227);
    t.is((await raw.send(`RETR ${form}`)).code, 550, `RETR ${form}`);
  }
  t.is((await raw.send(`SIZE ${path}`)).text, `213 ${content.length}`, 'the file itself is still found');
  t.is((await raw.send('SIZE /acme-db/1.0.0/')).code, 550, 'a directory has no size, slash or not');

  const { sftp, client, close } = await sftpConnect({ port: sftpPort, username: 'globex', password: PASSWORD });
  t.teardown(close);
  const codeOf = (call: (cb: (err: (Error & { code?: number }) | undefined) => void) => void) =>
    new Promise<number>((resolve) => call((err) => resolve(err ? (err.code ?? -1) : 0)));
  const NO_SUCH_FILE = 2;
  for (const form of [`${path}/`, `${path}/.`]) {
    t.is(await codeOf((cb) => sftp.open(form, 'r', (err) => cb(err ?? undefined))), NO_SUCH_FILE, `OPEN ${form}`);
    t.is(await codeOf((cb) => sftp.stat(form, (err) => cb(err ?? undefined))), NO_SUCH_FILE, `STAT ${form}`);
  }
  t.is(await codeOf((cb) => sftp.stat('/acme-db/1.0.0/', (err) => cb(err ?? undefined))), 0, 'a directory with a slash is a directory');
  t.is(await codeOf((cb) => sftp.open(path, 'r', (err) => cb(err ?? undefined))), 0, 'the file itself opens');

  const exec = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve, reject) =>
    client.exec(`sha256sum '${path}/'`, (err, channel) => {
      if (err) return reject(err);
      let stdout = '';
      let stderr = '';
      channel.on('data', (d: Buffer) => (stdout += d.toString()));
      channel.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      channel.on('exit', (code: number) => channel.on('close', () => resolve({ code, stdout, stderr })));
    }),
  );
  t.is(exec.code, 1);
  t.is(exec.stdout, '');
  t.regex(exec.stderr, /No such file or directory/);
});
