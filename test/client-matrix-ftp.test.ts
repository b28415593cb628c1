/**
 * Stock clients over FTP and FTPS (curl, wget, lftp, rclone, Python's ftplib, aria2c): each
 * downloads the 300 MiB release file whole, then is killed part way through a throttled download
 * and resumes it where it can; the SHA-256 of what it saved is the published file's.
 */
import anyTest, { type TestFn } from 'ava';
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
  t.context = await startMatrix({ ftp: true });
});
test.after.always(async (t) => {
  await t.context?.close();
});

const port = (m: Matrix) => String(m.ftp!.address.port);
const ftpUrl = (m: Matrix, path = m.path) => `ftp://${HOST}:${port(m)}${path}`;

test.serial('curl ftp://: whole download, then killed part way and resumed with -C -', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const auth = ['-sS', '--user', `globex:${PASSWORD}`];
  const file = join(dir, m.filename);
  assertExit0(t, await runClient('curl', [...auth, '-o', file, ftpUrl(m)]), 'curl');
  await assertWhole(t, m, file, 'curl');

  const part = join(dir, 'part');
  await killPartWay(t, m, 'curl', [...auth, '--limit-rate', '20M', '-o', part, ftpUrl(m)], part);
  assertExit0(t, await runClient('curl', [...auth, '-C', '-', '-o', part, ftpUrl(m)]), 'curl -C -');
  await assertWhole(t, m, part, 'curl -C -');
});

test.serial('curl ftp:// over explicit TLS (--ssl-reqd): whole download', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const file = join(dir, m.filename);
  assertExit0(t, await runClient('curl', ['-sS', '--ssl-reqd', '--insecure', '--user', `globex:${PASSWORD}`, '-o', file, ftpUrl(m)]), 'curl --ssl-reqd');
  await assertWhole(t, m, file, 'curl --ssl-reqd');
});

test.serial('wget ftp://: whole download, then killed part way and resumed with -c', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const auth = ['--ftp-user=globex', `--ftp-password=${PASSWORD}`];
  const file = join(dir, m.filename);
  assertExit0(t, await runClient('wget', ['-q', ...auth, '-O', file, ftpUrl(m)]), 'wget');
  await assertWhole(t, m, file, 'wget');

  const part = join(dir, 'part');
  await killPartWay(t, m, 'wget', ['-q', ...auth, '--limit-rate=20m', '-O', part, ftpUrl(m)], part);
  const resumed = await runClient('wget', ['-c', ...auth, '-O', part, ftpUrl(m)]);
  assertExit0(t, resumed, 'wget -c');
  t.regex(resumed.stderr, /REST/, 'wget restarted at an offset');
  await assertWhole(t, m, part, 'wget -c');
});

/** lftp over FTPS (it asks for AUTH TLS by itself; the test certificate is self-signed). */
function lftp(m: Matrix, commands: string[]) {
  const script = ['set ssl:verify-certificate no', 'set ftp:ssl-force yes', 'set cmd:fail-exit yes', 'set net:max-retries 1', ...commands, 'bye'].join('; ');
  return ['-u', `globex,${PASSWORD}`, '-p', port(m), '-e', script, HOST] as const;
}

test.serial('lftp (FTPS): get whole, killed part way then get -c, pget -n 4 in segments', async (t) => {
  const m = t.context;
  const dir = await lftpGetAndResume(t, m, (commands) => lftp(m, commands));

  const segments = join(dir, 'segments');
  assertExit0(t, await runClient('lftp', [...lftp(m, [`pget -n 4 ${m.path} -o ${segments}`])]), 'lftp pget -n 4');
  await assertWhole(t, m, segments, 'lftp pget -n 4');
});

test.serial('lftp (FTPS): mirror of the product folder', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const mirrored = join(dir, 'mirror');
  const run = await runClient('lftp', [...lftp(m, [`mirror --verbose /acme-db ${mirrored}`])]);
  assertExit0(t, run, 'lftp mirror');
  await assertWhole(t, m, join(mirrored, '1.0.0', m.filename), 'lftp mirror');
});

test.serial('rclone ftp (explicit TLS): copy, check --download; killed part way then copied again', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const { config, env } = await rcloneEnv(dir, 'shop', {
    type: 'ftp',
    host: HOST,
    port: port(m),
    user: 'globex',
    pass: PASSWORD,
    explicit_tls: 'true',
    no_check_certificate: 'true',
  });
  // rclone 1.60 (Debian 12's) copies a large file in two segments; when it closes the first
  // segment's data connection early, the server answers that RETR 426 (RFC 959; vsftpd says
  // "426 Failure writing network stream" too), and that rclone at times reports that 426 as the
  // copy's error (2 of 10 runs here, under load). One stream per file avoids it (see the README).
  const rclone = (...args: string[]) => runClient('rclone', ['--config', config, '--multi-thread-streams', '0', ...args], { env });
  const local = join(dir, 'copy');
  assertExit0(t, await rclone('copy', 'shop:/acme-db/1.0.0', local), 'rclone copy');
  await assertWhole(t, m, join(local, m.filename), 'rclone copy');
  // rclone's FTP backend knows no hash (rclone 1.60): check compares the content, read again.
  const check = await rclone('check', '--download', 'shop:/acme-db/1.0.0', local);
  assertExit0(t, check, 'rclone check --download');
  t.regex(check.stderr, /0 differences found/);
  t.regex(check.stderr, /1 matching files/);

  const again = join(dir, 'again');
  await killPartWay(
    t,
    m,
    'rclone',
    ['--config', config, '--multi-thread-streams', '0', '--bwlimit', '20M', 'copy', 'shop:/acme-db/1.0.0', again],
    join(again, m.filename),
    { env },
  );
  assertExit0(t, await rclone('copy', 'shop:/acme-db/1.0.0', again), 'rclone copy after a kill');
  await assertWhole(t, m, join(again, m.filename), 'rclone copy after a kill');
});

/**
 * Python's ftplib over FTPS with TLS 1.3 only: LIST, NLST, MLSD, then RETR of the file (retrbinary,
 * as a script would), reporting JSON with the TLS version of the control and of each data connection.
 */
const FTPLIB = String.raw`
import ftplib, json, ssl, sys
host, port, user, password, folder, name, out = sys.argv[1:]
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.minimum_version = ssl.TLSVersion.TLSv1_3
data = []
class Client(ftplib.FTP_TLS):
    def ntransfercmd(self, cmd, rest=None):
        conn, size = super().ntransfercmd(cmd, rest)
        data.append(conn.version())
        return conn, size
ftp = Client(context=ctx, timeout=30)
ftp.connect(host, int(port))
ftp.login(user, password)
ftp.prot_p()
report = {'control': ftp.sock.version()}
ftp.cwd(folder)
lines = []
ftp.retrlines('LIST', lines.append)
report['list'] = lines
report['nlst'] = ftp.nlst()
report['mlsd'] = [[n, f.get('type'), f.get('size')] for n, f in ftp.mlsd()]
with open(out, 'wb') as f:
    report['retr'] = ftp.retrbinary('RETR ' + name, f.write, blocksize=1 << 20)
report['data'] = data
ftp.quit()
print(json.dumps(report))
`;

test.serial('Python ftplib FTP_TLS with TLS 1.3 only: LIST, NLST, MLSD and RETR over protected data connections', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
  const file = join(dir, m.filename);
  const run = await runClient('/usr/bin/python3', ['-c', FTPLIB, HOST, port(m), 'globex', PASSWORD, '/acme-db/1.0.0', m.filename, file]);
  assertExit0(t, run, 'ftplib');
  const report = JSON.parse(run.stdout) as { control: string; data: string[]; list: string[]; nlst: string[]; mlsd: [string, string, string][]; retr: string };
  t.is(report.control, 'TLSv1.3');
  t.deepEqual(report.data, ['TLSv1.3', 'TLSv1.3', 'TLSv1.3', 'TLSv1.3'], 'LIST, NLST, MLSD and RETR each over TLS 1.3');
  t.is(report.list.length, 1);
  t.regex(report.list[0]!, new RegExp(`^-r.*\\s${m.size}\\s.*${m.filename.replaceAll('.', '\\.')}$`));
  t.deepEqual(report.nlst, [m.filename]);
  t.deepEqual(
    report.mlsd.filter(([, type]) => type === 'file'),
    [[m.filename, 'file', String(m.size)]],
  );
  t.regex(report.retr, /^226/);
  await assertWhole(t, m, file, 'ftplib RETR');
});

test.serial('aria2c ftp://: whole download in 4 parallel segments, then killed part way and resumed with -c', async (t) => {
  const m = t.context;
  const dir = await workDir(t, m);
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
  assertExit0(t, await runClient('aria2c', [...common, '-o', 'whole', ftpUrl(m)]), 'aria2c -x4 -s4');
  await assertWhole(t, m, join(dir, 'whole'), 'aria2c -x4 -s4');

  const part = join(dir, 'part');
  const throttled = [...common, '--max-overall-download-limit=20M', '--auto-save-interval=1', '-o', 'part', ftpUrl(m)];
  await killPartWay(t, m, 'aria2c', throttled, part, { ready: async () => (await sizeOf(`${part}.aria2`)) > 0 });
  assertExit0(t, await runClient('aria2c', [...common, '-c', '-o', 'part', ftpUrl(m)]), 'aria2c -c');
  await assertWhole(t, m, part, 'aria2c -c');
});
