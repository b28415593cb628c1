import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { writeFileAtomic } from '../lib/commlink/keybag-file.js';
import { loadConfig } from '../lib/config/index.js';
import { errorText, exists, parseFlags, resolveIo, runIfEntryPoint, type ScriptIo } from './cli.js';
import { generateEd25519 } from '../lib/ssh-keys.js';

/**
 * Writes the file host's own keys when missing: the SSH host key (Ed25519, OpenSSH format) and the
 * FTPS certificate with its key (self-signed ECDSA P-256, made with openssl; for localhost, the
 * loopback addresses and the FTP host address). Private keys get mode 0600 in a 0700 directory.
 * Prints paths and fingerprints, never a key.
 */
export const USAGE = `usage: gen-host-keys [--force]
  --force   replace existing keys (clients will see a new host key / certificate)`;

const run = promisify(execFile);

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  const { env, cwd, out, err } = resolved;
  const parsed = parseFlags('gen-host-keys', argv, { force: { type: 'boolean' } }, USAGE, resolved);
  if (parsed === undefined) return 2;
  if (parsed === 'help') return 0;
  const force = (parsed as { force?: boolean }).force ?? false;
  try {
    const config = loadConfig({ env, cwd });
    const f = config.services.ftp;
    if (force || !(await exists(f.sftpHostKeyPath))) {
      const pair = generateEd25519();
      await writeFileAtomic(f.sftpHostKeyPath, pair.private, { mode: 0o600, overwrite: force, dirMode: 0o700 });
      await writeFileAtomic(`${f.sftpHostKeyPath}.pub`, `${pair.public}\n`, { mode: 0o644, overwrite: force, dirMode: 0o700 });
      out(`SSH host key written: ${f.sftpHostKeyPath} (${fingerprint(pair.public)})`);
    } else {
      out(`SSH host key exists: ${f.sftpHostKeyPath}; kept (--force replaces it)`);
    }
    if (force || !(await exists(f.ftpTlsKeyPath)) || !(await exists(f.ftpTlsCertPath))) {
      const names = [...new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', /^[\d.]+$/.test(f.host) ? `IP:${f.host}` : `DNS:${f.host}`])];
      const { key, cert } = await selfSignedCertificate({ subject: '/CN=fulfillment file host', names, days: 825 });
      await writeFileAtomic(f.ftpTlsKeyPath, key, { mode: 0o600, overwrite: true, dirMode: 0o700 });
      await writeFileAtomic(f.ftpTlsCertPath, cert, { mode: 0o644, overwrite: true, dirMode: 0o700 });
      out(`FTPS certificate written: ${f.ftpTlsCertPath} (self-signed, ${f.ftpTlsKeyPath})`);
    } else {
      out(`FTPS certificate exists: ${f.ftpTlsCertPath}; kept (--force replaces it)`);
    }
    return 0;
  } catch (e) {
    err(`gen-host-keys: ${errorText(e)}`);
    return 1;
  }
}

/** A self-signed ECDSA P-256 certificate and its key (PEM), made by openssl for the given subject alternative names. */
export async function selfSignedCertificate(options: { subject: string; names: readonly string[]; days: number }): Promise<{ key: string; cert: string }> {
  const work = await mkdtemp(join(tmpdir(), 'ffs-cert-'));
  try {
    const [keyPath, certPath] = [join(work, 'key.pem'), join(work, 'cert.pem')];
    const san = ['-addext', `subjectAltName=${options.names.join(',')}`];
    await run(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-days',
        String(options.days),
        '-subj',
        options.subject,
        ...san,
      ].concat(['-keyout', keyPath, '-out', certPath]),
    );
    return { key: await readFile(keyPath, 'utf8'), cert: await readFile(certPath, 'utf8') };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** OpenSSH's SHA256 fingerprint of an authorized_keys-style public key line. */
function fingerprint(publicLine: string): string {
  const blob = Buffer.from(publicLine.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

runIfEntryPoint(import.meta.url, main);
