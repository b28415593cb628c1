/**
 * Stock clients over SFTP (OpenSSH sftp, lftp, rclone, paramiko, curl, aria2c): each downloads the
 * 300 MiB release file whole, then (where the client can resume) is killed part way through a
 * throttled download and resumes it; the SHA-256 of what it saved is the published file's.
 */
import anyTest, { type TestFn } from 'ava';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  HOST,
  PASSWORD,
  assertExit0,
  assertWhole,
  killPartWay,
  lftpGetAndResume,
  rcloneEnv,
  runClient,
  sizeOf,
  startMatrix,
  workDir,
  type Matrix,
} from './helpers/clients.js';

const test = anyTest as TestFn<Matrix>;

test.before(async (t) => {
  t.context = await startMatrix({ sftp: true });
});
test.after.always(async (t) => {
  await t.context?.close();
});

const port = (m: Matrix) => String(m.sftpPort!);
const NO_HOST_CHECK = ['-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];

/** OpenSSH sftp with the customer's registered key, running `batch` (-b: any failed command ends it with status 1). */
async function openssh(m: Matrix, dir: string, batch: string[], extra: string[] = []): Promise<[string, string[]]> {
  const file = join(dir, `batch-${Math.random().toString(36).slice(2)}`);
  await writeFile(file, `${batch.join('\n')}\n`);
  return ['sftp', ['-b', file, '-P', port(m), '-i', m.keyFile!, ...NO_HOST_CHECK, '-o', 'BatchMode=yes', ...extra, `globex@${HOST}`]];
}

test.serial('OpenSSH sftp: get whole, then killed part way (-l) and resumed with reget', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const file = join(dir, m.filename);
  assertExit0(t, await runClient(...(await openssh(m, dir, [`get ${m.path} ${file}`]))), 'sftp get');
  await assertWhole(t, m, file, 'sftp get');

  const part = join(dir, 'part');
  await killPartWay(t, m, ...(await openssh(m, dir, [`get ${m.path} ${part}`], ['-l', '160000'])), part); // 160,000 Kbit/s: 20 MB/s
  assertExit0(t, await runClient(...(await openssh(m, dir, [`reget ${m.path} ${part}`]))), 'sftp reget');
  await assertWhole(t, m, part, 'sftp reget');
});

test.serial('OpenSSH sftp: a batch with df and df -h, then get, succeeds', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const file = join(dir, m.filename);
  const run = await runClient(...(await openssh(m, dir, ['df', 'df -h /acme-db', `get ${m.path} ${file}`])));
  assertExit0(t, run, 'sftp -b with df');
  t.regex(run.stdout, /Size\s+Used\s+Avail/, 'df printed its table');
  await assertWhole(t, m, file, 'sftp get after df');
});

/** lftp over SFTP (it runs ssh and answers its password prompt). */
function lftp(m: Matrix, commands: string[]) {
  const ssh = `ssh -a -x ${NO_HOST_CHECK.join(' ')} -o PreferredAuthentications=password,keyboard-interactive -o PubkeyAuthentication=no`;
  const script = [`set sftp:connect-program "${ssh}"`, 'set cmd:fail-exit yes', 'set net:max-retries 1', ...commands, 'bye'].join('; ');
  return ['-u', `globex,${PASSWORD}`, '-p', port(m), '-e', script, `sftp://${HOST}`] as const;
}

test.serial('lftp sftp://: get whole, then killed part way and resumed with get -c', async (t) => {
  const m = t.context;
  await lftpGetAndResume(t, m, (commands) => lftp(m, commands));
});

test.serial('rclone sftp: copy, check comparing hashes, hashsum sha1 and md5sum; killed part way then copied again', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const { config, env } = await rcloneEnv(dir, 'shop', { type: 'sftp', host: HOST, port: port(m), user: 'globex', pass: PASSWORD });
  const rclone = (...args: string[]) => runClient('rclone', ['--config', config, ...args], { env });
  const local = join(dir, 'copy');
  assertExit0(t, await rclone('copy', 'shop:/acme-db/1.0.0', local), 'rclone copy');
  await assertWhole(t, m, join(local, m.filename), 'rclone copy');

  const check = await rclone('check', 'shop:/acme-db/1.0.0', local);
  assertExit0(t, check, 'rclone check');
  t.regex(check.stderr, /0 differences found/);
  t.regex(check.stderr, /1 matching files/);
  t.notRegex(check.stderr, /hash|could not be checked/i, 'rclone compared hashes (it says when it could not)');

  const sha1 = await rclone('hashsum', 'sha1', 'shop:/acme-db/1.0.0');
  assertExit0(t, sha1, 'rclone hashsum sha1');
  t.is(sha1.stdout.trim(), `${m.hashes.sha1}  ${m.filename}`);
  const md5 = await rclone('md5sum', 'shop:/acme-db/1.0.0');
  assertExit0(t, md5, 'rclone md5sum');
  t.is(md5.stdout.trim(), `${m.hashes.md5}  ${m.filename}`);

  const again = join(dir, 'again');
  await killPartWay(t, m, 'rclone', ['--config', config, '--bwlimit', '20M', 'copy', 'shop:/acme-db/1.0.0', again], join(again, m.filename), { env });
  assertExit0(t, await rclone('copy', 'shop:/acme-db/1.0.0', again), 'rclone copy after a kill');
  await assertWhole(t, m, join(again, m.filename), 'rclone copy after a kill');
});

/** paramiko's default SFTPClient.get() (it pipelines reads for the whole file), password login. */
const PARAMIKO = String.raw`
import paramiko, sys
host, port, user, password, remote, local = sys.argv[1:]
transport = paramiko.Transport((host, int(port)))
transport.connect(username=user, password=password)
sftp = paramiko.SFTPClient.from_transport(transport)
sftp.get(remote, local)
sftp.close()
transport.close()
`;

test.serial('paramiko: default SFTPClient.get() of the whole file', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const file = join(dir, m.filename);
  assertExit0(t, await runClient('/usr/bin/python3', ['-c', PARAMIKO, HOST, port(m), 'globex', PASSWORD, m.path, file]), 'paramiko get()');
  await assertWhole(t, m, file, 'paramiko get()');
});

test.serial('curl sftp://: whole download, then killed part way and resumed with -C -', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const url = `sftp://${HOST}:${port(m)}${m.path}`;
  const auth = ['-sS', '--insecure', '--user', `globex:${PASSWORD}`];
  const file = join(dir, m.filename);
  assertExit0(t, await runClient('curl', [...auth, '-o', file, url]), 'curl sftp://');
  await assertWhole(t, m, file, 'curl sftp://');

  const part = join(dir, 'part');
  await killPartWay(t, m, 'curl', [...auth, '--limit-rate', '20M', '-o', part, url], part);
  assertExit0(t, await runClient('curl', [...auth, '-C', '-', '-o', part, url]), 'curl sftp:// -C -');
  await assertWhole(t, m, part, 'curl sftp:// -C -');
});

test.serial('aria2c sftp://: whole download in 4 parallel segments, then killed part way and resumed with -c', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const url = `sftp://${HOST}:${port(m)}${m.path}`;
  const common = [
    '--no-conf',
    '--quiet',
    '--file-allocation=none',
    '--ftp-user=globex',
    `--ftp-passwd=${PASSWORD}`,
    '--dir',
    dir,
    '-x4',
    '-s4',
    '--min-split-size=20M',
  ];
  assertExit0(t, await runClient('aria2c', [...common, '-o', 'whole', url]), 'aria2c -x4 -s4');
  await assertWhole(t, m, join(dir, 'whole'), 'aria2c -x4 -s4');

  const part = join(dir, 'part');
  const throttled = [...common, '--max-overall-download-limit=20M', '--auto-save-interval=1', '-o', 'part', url];
  await killPartWay(t, m, 'aria2c', throttled, part, { ready: async () => (await sizeOf(`${part}.aria2`)) > 0 });
  assertExit0(t, await runClient('aria2c', [...common, '-c', '-o', 'part', url]), 'aria2c -c');
  await assertWhole(t, m, part, 'aria2c -c');
});
