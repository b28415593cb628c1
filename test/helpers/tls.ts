import { execFile } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ExecutionContext } from 'ava';
import { selfSignedCertificate } from '../../scripts/gen-host-keys.js';

export interface TestCertificate {
  readonly dir: string;
  readonly certPath: string;
  readonly keyPath: string;
  readonly cert: string;
  readonly key: string;
  /** base64 SHA-256 of the certificate's SubjectPublicKeyInfo: Chromium's --ignore-certificate-errors-spki-list pin. */
  readonly spkiPin: string;
  readonly fingerprint256: string;
}

/** A self-signed certificate for loopback made by openssl (as npm start makes one), in a temp dir removed at teardown. */
export async function makeCertificate(t: ExecutionContext, names = ['DNS:localhost', 'IP:127.0.0.1', 'IP:::1']): Promise<TestCertificate> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-tls-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const { key, cert } = await selfSignedCertificate({ subject: '/CN=ffs test', names, days: 2 });
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  await writeFile(certPath, cert);
  await writeFile(keyPath, key, { mode: 0o600 });
  return { dir, certPath, keyPath, cert, key, spkiPin: spkiPin(cert), fingerprint256: new X509Certificate(cert).fingerprint256 };
}

/** base64 SHA-256 of a PEM certificate's SubjectPublicKeyInfo (DER). */
export function spkiPin(certPem: string): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(spki).digest('base64');
}

export interface CurlAnswer {
  /** curl's exit code (0: a whole answer). */
  code: number;
  status: number;
  /** %{http_version}: '2', '1.1', … */
  version: string;
  /** The last answer's headers, names lower-cased. */
  headers: Record<string, string | undefined>;
  body: Buffer;
  stderr: string;
}

/** Runs curl with `args` (a URL among them); the answer's status, HTTP version, headers and body. */
export async function curl(args: readonly string[], options: { timeoutMs?: number } = {}): Promise<CurlAnswer> {
  const dir = await mkdtemp(join(tmpdir(), 'ffs-curl-'));
  try {
    const headerFile = join(dir, 'headers');
    const bodyFile = join(dir, 'body');
    const run = await promisify(execFile)('curl', ['-sS', '-D', headerFile, '-o', bodyFile, '-w', '%{http_code} %{http_version}', ...args], {
      timeout: options.timeoutMs ?? 60_000,
    }).then(
      (r) => ({ code: 0, stdout: r.stdout, stderr: r.stderr }),
      (e: { code?: number; stdout?: string; stderr?: string }) => ({
        code: typeof e.code === 'number' ? e.code : -1,
        stdout: e.stdout ?? '',
        stderr: e.stderr ?? '',
      }),
    );
    const [status, version] = run.stdout.trim().split(' ');
    const rawHeaders = await readFile(headerFile, 'utf8').catch(() => '');
    const last =
      rawHeaders
        .split(/\r?\n\r?\n/)
        .filter((block) => block.trim() !== '')
        .at(-1) ?? '';
    const headers: Record<string, string | undefined> = {};
    for (const line of last.split(/\r?\n/).slice(1)) {
      const colon = line.indexOf(':');
      if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
    }
    const body = await readFile(bodyFile).catch(() => Buffer.alloc(0));
    return { code: run.code, status: Number(status ?? 0), version: version ?? '', headers, body, stderr: run.stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
