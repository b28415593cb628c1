/**
 * SSH `exec`: the checksum commands the file host answers itself (`sha256sum`, `sha1sum`, `md5sum`
 * of area files, coreutils' output), everything else refused without running anything; rclone's
 * sftp backend compares content through them (`rclone check`, `hashsum`, `md5sum`). And a login
 * over a session limit is told so (SSH disconnect 12 with the limit's message), for ssh2 and
 * OpenSSH clients. In process and in SFTP worker processes.
 */
import test, { type ExecutionContext } from 'ava';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { link, mkdir, mkdtemp, rm, stat, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type ssh2 from 'ssh2';
import { publish, startChain, type Chain } from './helpers/chain.js';
import { opensshClient, readRemote, sftpConnect } from './helpers/sftp.js';
import { waitFor } from './helpers/wait.js';
import { generateEd25519 } from '../lib/ssh-keys.js';
import type { FileHostOptions } from '../services/ftp/service.js';

const run = promisify(execFile);
const hostKey = generateEd25519().private;
const PASSWORD = 'correct horse battery';

interface Setup {
  chain: Chain;
  port: number;
  /** Virtual path → content, of every file staged for globex. */
  files: Map<string, Buffer>;
  area: string;
}

async function setup(t: ExecutionContext, workers: number, fileHost: Partial<FileHostOptions> = {}): Promise<Setup> {
  const chain = await startChain(t, { fileHost: { sftp: { port: 0, hostKey, workers }, ...fileHost } });
  await chain.call('customer.create', { login: 'globex', name: 'Globex', password: PASSWORD });
  const files = new Map<string, Buffer>();
  for (const [version, size] of [
    ['1.0.0', 300_000],
    ['1.1.0', 4_321],
  ] as const) {
    const content = randomBytes(size);
    await publish(chain, version, content);
    if (files.size === 0) await chain.call('entitlement.grant', { customer: 'globex', product: 'acme-db' });
    const staged = await chain.web.fulfillment.stage('globex', 'acme-db', version);
    files.set(staged.files[0]!.path, content);
  }
  return { chain, port: chain.fileHost.sftpAddress!.port, files, area: join(chain.fileDir, 'areas', 'globex') };
}

interface Ran {
  code: number | undefined;
  stdout: string;
  stderr: string;
}

/** Runs `command` over an exec channel (standard input: `stdin`, then its end) and waits for the channel to close. */
function exec(client: ssh2.Client, command: string, stdin = ''): Promise<Ran> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      const ran: Ran = { code: undefined, stdout: '', stderr: '' };
      stream.on('data', (chunk: Buffer) => (ran.stdout += chunk.toString()));
      stream.stderr.on('data', (chunk: Buffer) => (ran.stderr += chunk.toString()));
      stream.on('exit', (code: number) => (ran.code = code));
      stream.on('close', () => resolve(ran));
      stream.end(stdin);
    });
  });
}

const hex = (algorithm: string, content: Buffer) => createHash(algorithm).update(content).digest('hex');

const checksumCommands = test.macro(async (t, workers: number) => {
  const { port, files, area } = await setup(t, workers);
  const [[path, content]] = [...files];
  const { client, close } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(close);

  for (const [command, algorithm] of [
    ['sha256sum', 'sha256'],
    ['sha1sum', 'sha1'],
    ['md5sum', 'md5'],
  ]) {
    t.deepEqual(await exec(client, `${command} "${path}"`), { code: 0, stdout: `${hex(algorithm!, content!)}  ${path}\n`, stderr: '' }, command);
  }
  // As rclone escapes a path, single-quoted, relative to the area's root, several files at once.
  const all = [...files.keys()];
  t.deepEqual(await exec(client, `sha1sum ${all.map((p) => p.replaceAll('.', '\\.')).join(' ')}`), {
    code: 0,
    stdout: all.map((p) => `${hex('sha1', files.get(p)!)}  ${p}\n`).join(''),
    stderr: '',
  });
  t.is((await exec(client, `md5sum '${path!.slice(1)}'`)).stdout, `${hex('md5', content!)}  ${path!.slice(1)}\n`, 'relative to the area root');
  // A name a shell must be told is one word, quoted each way clients quote it (rclone: a backslash before every unsafe character).
  const odd = `/acme-db/copy of "it's" (1) & $HOME.tar.gz`;
  await link(join(area, path!), join(area, odd));
  for (const quoted of [odd.replace(/[^A-Za-z0-9_.,:/@-]/g, '\\$&'), `'${odd.replaceAll("'", "'\\''")}'`, `"${odd.replace(/["$`\\]/g, '\\$&')}"`]) {
    t.deepEqual(await exec(client, `sha256sum ${quoted}`), { code: 0, stdout: `${hex('sha256', content!)}  ${odd}\n`, stderr: '' }, quoted);
  }
  // rclone's probe: the checksum of empty standard input.
  t.deepEqual(await exec(client, 'md5sum'), { code: 0, stdout: 'd41d8cd98f00b204e9800998ecf8427e  -\n', stderr: '' });
  t.deepEqual(await exec(client, 'sha1sum', 'abc'), { code: 0, stdout: `${hex('sha1', Buffer.from('abc'))}  -\n`, stderr: '' });

  // Missing, outside the area, hidden, a directory, a symlink out of the area.
  t.deepEqual(await exec(client, 'sha256sum /acme-db/9.9.9/nothing'), {
    code: 1,
    stdout: '',
    stderr: 'sha256sum: /acme-db/9.9.9/nothing: No such file or directory\n',
  });
  t.deepEqual(await exec(client, `sha256sum ../../etc/passwd /etc/passwd "${path}"`), {
    code: 1,
    stdout: `${hex('sha256', content!)}  ${path}\n`,
    stderr: 'sha256sum: ../../etc/passwd: No such file or directory\nsha256sum: /etc/passwd: No such file or directory\n',
  });
  await writeFile(join(area, 'acme-db', '.hidden'), 'secret');
  await symlink('/etc/passwd', join(area, 'acme-db', 'passwd'));
  t.deepEqual(await exec(client, 'md5sum /acme-db/.hidden /acme-db/passwd /acme-db'), {
    code: 1,
    stdout: '',
    stderr: 'md5sum: /acme-db/.hidden: No such file or directory\nmd5sum: /acme-db/passwd: Permission denied\nmd5sum: /acme-db: Is a directory\n',
  });

  // Nothing else runs: not another command, not shell syntax.
  const dir = await mkdtemp(join(tmpdir(), 'ffs-ssh-exec-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const marker = join(dir, 'ran');
  for (const [command, code] of [
    ['ls', 127],
    ['rm x', 127],
    [`touch ${marker}`, 127],
    [`sha256sum x; touch ${marker}`, 2],
    [`sha256sum x && touch ${marker}`, 2],
    [`sha256sum x | touch ${marker}`, 2],
    [`sha256sum $(touch ${marker})`, 2],
    [`sha256sum "\`touch ${marker}\`"`, 2],
    [`sha256sum x\ntouch ${marker}`, 2],
    ['sha256sum /acme-db/*', 2],
    ['echo ${ShellId}%ComSpec%', 2], // rclone's shell probe: refused, so rclone takes the server for a Unix shell
    ['', 127],
  ] as const) {
    const ran = await exec(client, command);
    t.is(ran.code, code, command);
    t.is(ran.stdout, '', command);
    t.regex(ran.stderr, /only sha256sum, sha1sum and md5sum/, command);
  }
  await t.throwsAsync(stat(marker), undefined, 'nothing ran');
  t.deepEqual(await exec(client, 'sha256sum --check sums'), { code: 1, stdout: '', stderr: "sha256sum: unrecognized option '--check'\n" });
  // Still refused: a shell, a terminal.
  await t.throwsAsync(new Promise((resolve, reject) => client.shell((err, stream) => (err ? reject(err) : resolve(stream)))));
  // An exec request on a session channel that runs sftp already: refused, and the sftp session goes on.
  const { client: other, sftp } = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(() => other.end());
  const protocol = (other as unknown as { _protocol: { exec(channel: number, command: string, wantReply: boolean): void } })._protocol;
  protocol.exec((sftp as unknown as { outgoing: { id: number } }).outgoing.id, `sha256sum "${path}"`, true);
  t.true((await readRemote(sftp, path!)).equals(content!), 'the sftp session still serves');
  // And the other way round: the sftp subsystem asked on a channel running a command (waiting for its standard input).
  const waiting = await new Promise<ssh2.ClientChannel>((resolve, reject) => client.exec('md5sum', (err, stream) => (err ? reject(err) : resolve(stream))));
  const output = new Promise<string>((resolve) => {
    let stdout = '';
    waiting.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    waiting.on('close', () => resolve(stdout));
  });
  const clientProtocol = (client as unknown as { _protocol: { subsystem(channel: number, name: string, wantReply: boolean): void } })._protocol;
  clientProtocol.subsystem((waiting as unknown as { outgoing: { id: number } }).outgoing.id, 'sftp', true);
  waiting.end('abc');
  t.is(await output, `${hex('md5', Buffer.from('abc'))}  -\n`, 'the command still answers');
  t.deepEqual(
    await exec(client, `sha256sum "${path}"`),
    { code: 0, stdout: `${hex('sha256', content!)}  ${path}\n`, stderr: '' },
    'the connection still serves',
  );
});

test('sha256sum, sha1sum and md5sum of area files answer as coreutils; paths stay in the area; nothing else runs (in process)', checksumCommands, 0);
test('sha256sum, sha1sum and md5sum of area files answer as coreutils; paths stay in the area; nothing else runs (workers)', checksumCommands, 1);

const rcloneCompares = test.macro(async (t, workers: number) => {
  const { port, files } = await setup(t, workers);
  const dir = await mkdtemp(join(tmpdir(), 'ffs-rclone-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const local = join(dir, 'local');
  for (const [path, content] of files) {
    const file = join(local, path.replace(/^\/acme-db\//, ''));
    await mkdir(dirname(file), { recursive: true });
    await writeFile(file, content);
  }
  const config = join(dir, 'rclone.conf');
  await writeFile(config, '');
  const obscured = (await run('rclone', ['obscure', PASSWORD])).stdout.trim();
  const env = {
    ...process.env,
    RCLONE_CONFIG_X_TYPE: 'sftp',
    RCLONE_CONFIG_X_HOST: '127.0.0.1',
    RCLONE_CONFIG_X_PORT: String(port),
    RCLONE_CONFIG_X_USER: 'globex',
    RCLONE_CONFIG_X_PASS: obscured,
  };
  const rclone = (...args: string[]) => run('rclone', ['--config', config, '--sftp-set-modtime=false', ...args], { env, timeout: 60_000 });
  const expected = (algorithm: string) =>
    [...files]
      .map(([path, content]) => `${hex(algorithm, content)}  ${path.replace(/^\/acme-db\//, '')}`)
      .sort()
      .join('\n');

  const sha1 = await rclone('hashsum', 'sha1', 'x:acme-db');
  t.is(sha1.stdout.trim().split('\n').sort().join('\n'), expected('sha1'), 'rclone hashsum sha1');
  const md5 = await rclone('md5sum', 'x:acme-db');
  t.is(md5.stdout.trim().split('\n').sort().join('\n'), expected('md5'), 'rclone md5sum');

  const same = await rclone('check', '--download=false', local, 'x:acme-db');
  t.regex(same.stderr, /0 differences found/);
  t.regex(same.stderr, new RegExp(`${files.size} matching files`));
  t.notRegex(same.stderr, /no hashes in common|size-only|hash.*not.*check/i, 'hashes were compared');

  // Same size, other content: only a checksum tells.
  const [path, content] = [...files][1]!;
  const changed = Buffer.from(content);
  changed[0] = changed[0]! ^ 0xff;
  await writeFile(join(local, path.replace(/^\/acme-db\//, '')), changed);
  const differs = await t.throwsAsync(rclone('check', '--download=false', local, 'x:acme-db'));
  const stderr = (differs as { stderr?: string }).stderr ?? '';
  t.regex(stderr, /1 differences found/);
  t.regex(stderr, /acme-db-1\.1\.0\.tar\.gz: md5 differ/, 'told by the checksums (the sizes are equal)');
});

test('rclone (sftp backend) hashsum, md5sum and check compare content through the checksum commands (in process)', rcloneCompares, 0);
test('rclone (sftp backend) hashsum, md5sum and check compare content through the checksum commands (workers)', rcloneCompares, 1);

const sessionLimitTold = test.macro(async (t, workers: number) => {
  const { chain, port } = await setup(t, workers, { sessions: { maxSessionsPerCustomer: 1 } });
  const key = generateEd25519('globex laptop');
  await chain.call('sshkey.add', { login: 'globex', publicKey: key.public });
  const first = await sftpConnect({ port, username: 'globex', password: PASSWORD });
  t.teardown(first.close);
  const refused = (await t.throwsAsync(sftpConnect({ port, username: 'globex', password: PASSWORD }))) as Error & { code?: number };
  t.is(refused.code, 12, 'SSH_DISCONNECT_TOO_MANY_CONNECTIONS');
  t.regex(refused.message, /^Too many sessions: globex has 1 sessions open already/);

  const { dir, openssh: client } = await opensshClient(t, { port, privateKey: key.private, timeoutMs: 30_000 });
  await writeFile(join(dir, 'batch'), 'ls /\nbye\n');
  const openssh = await t.throwsAsync(client(join(dir, 'batch')));
  const stderr = (openssh as { stderr?: string }).stderr ?? '';
  t.regex(stderr, /Received disconnect from 127\.0\.0\.1 port \d+:12: Too many sessions: globex has 1 sessions open already/);
  t.notRegex(stderr, /Permission denied/);

  first.close();
  await waitFor(() => chain.fileHost.logins.limits.counts().customers.globex === undefined, 10_000, 'the first session to end');
  const again = await sftpConnect({ port, username: 'globex', privateKey: key.private });
  t.teardown(again.close);
  t.pass('the limit frees when the first session ends');
});

test('a login over the customer’s session limit is disconnected with “Too many sessions”, not “Permission denied” (in process)', sessionLimitTold, 0);
test('a login over the customer’s session limit is disconnected with “Too many sessions”, not “Permission denied” (workers)', sessionLimitTold, 1);

const banTold = test.macro(async (t, workers: number) => {
  const { chain, port } = await setup(t, workers);
  const address = '127.0.0.9';
  // Connected (admitted at accept) before the ban; the password is sent once the address is banned.
  const refused = (await t.throwsAsync(
    sftpConnect({
      port,
      username: 'globex',
      localAddress: address,
      authHandler: (authsLeft, _partial, next) => {
        if (authsLeft !== null) return next(false as never);
        t.true(chain.fileHost.logins.defender.fail(address, 1_000), 'banned now');
        next({ type: 'password', username: 'globex', password: PASSWORD });
      },
    }),
  )) as Error & { code?: number };
  t.is(refused.code, 1, 'SSH_DISCONNECT_HOST_NOT_ALLOWED_TO_CONNECT');
  t.is(refused.message, 'Too many failed logins from your address: banned for a while, try again later', 'the words FTP answers with 421');
});

test('a login from an address banned while it was connecting is disconnected with the reason, not “Permission denied” (in process)', banTold, 0);
test('a login from an address banned while it was connecting is disconnected with the reason, not “Permission denied” (workers)', banTold, 1);
