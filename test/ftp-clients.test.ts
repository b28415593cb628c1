import test from 'ava';
import { createHash } from 'node:crypto';
import { HOST, PASSWORD, run, setup } from './helpers/ftp.js';

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
