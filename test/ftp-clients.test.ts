import test, { type ExecutionContext } from 'ava';
import { createHash, randomBytes } from 'node:crypto';
import { symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { generateEd25519 } from '../lib/ssh-keys.js';
import { publish, startChain, type Chain } from './helpers/chain.js';
import { HOST, PASSWORD, Raw, run, setup, tlsCert } from './helpers/ftp.js';

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
