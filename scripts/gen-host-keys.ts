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
      const work = await mkdtemp(join(tmpdir(), 'ffs-cert-'));
      try {
        const names = [...new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', /^[\d.]+$/.test(f.host) ? `IP:${f.host}` : `DNS:${f.host}`])];
        await run('openssl', [
          'req',
          '-x509',
          '-newkey',
          'ec',
          '-pkeyopt',
          'ec_paramgen_curve:P-256',
          '-nodes',
          '-days',
          '825',
          '-subj',
          '/CN=fulfillment file host',
          '-addext',
          `subjectAltName=${names.join(',')}`,
          '-keyout',
          join(work, 'key.pem'),
          '-out',
          join(work, 'cert.pem'),
        ]);
        await writeFileAtomic(f.ftpTlsKeyPath, await readFile(join(work, 'key.pem')), { mode: 0o600, overwrite: true, dirMode: 0o700 });
        await writeFileAtomic(f.ftpTlsCertPath, await readFile(join(work, 'cert.pem')), { mode: 0o644, overwrite: true, dirMode: 0o700 });
      } finally {
        await rm(work, { recursive: true, force: true });
      }
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

/** OpenSSH's SHA256 fingerprint of an authorized_keys-style public key line. */
function fingerprint(publicLine: string): string {
  const blob = Buffer.from(publicLine.split(' ')[1] ?? '', 'base64');
  return `SHA256:${createHash('sha256').update(blob).digest('base64').replace(/=+$/, '')}`;
}

runIfEntryPoint(import.meta.url, main);
