import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { writeFileAtomic } from '../../lib/commlink/keybag-file.js';
import type { Config } from '../../lib/config/index.js';
import { readTlsFiles } from '../../services/web/http/tls-files.js';
import { selfSignedCertificate } from '../gen-host-keys.js';

/** The web host's HTTPS certificate as npm start runs it. */
export interface WebCertificate {
  readonly certPath: string;
  readonly keyPath: string;
  /** The certificate chain, PEM: what a client of npm start trusts (pins) to reach the web host. */
  readonly pem: string;
  /** SHA-256 fingerprint of the server's certificate, colon-separated hex (crypto.X509Certificate.fingerprint256). */
  readonly fingerprint256: string;
  /** Made by npm start (self-signed for loopback), not given in services.web.tlsCertPath. */
  readonly selfSigned: boolean;
  /** Made on this run (else kept from an earlier one, or the user's). */
  readonly created: boolean;
}

/** Where npm start keeps the certificate it makes when none is configured (beside the other secrets). */
export function generatedCertificatePaths(config: Config): { certPath: string; keyPath: string } {
  const secrets = join(config.dataDir, 'secrets');
  return { certPath: join(secrets, 'web-tls.crt'), keyPath: join(secrets, 'web-tls.key') };
}

/** A made certificate is made again this long before it expires. */
const RENEW_BEFORE_MS = 7 * 86_400_000;

/**
 * The web host's certificate for npm start: the configured one as given (services.web.tlsCertPath
 * and tlsKeyPath, checked), or else a self-signed ECDSA one for loopback (localhost, 127.0.0.1, ::1
 * and the configured host) in the secrets directory, key mode 0600, kept across restarts and made
 * again only when missing, unreadable, not covering the host or about to expire.
 */
export async function ensureWebCertificate(config: Config): Promise<WebCertificate> {
  const web = config.services.web;
  if (web.tlsCertPath && web.tlsKeyPath) {
    const { cert } = await readTlsFiles(web.tlsCertPath, web.tlsKeyPath);
    return {
      certPath: web.tlsCertPath,
      keyPath: web.tlsKeyPath,
      pem: cert,
      fingerprint256: new X509Certificate(cert).fingerprint256,
      selfSigned: false,
      created: false,
    };
  }
  const { certPath, keyPath } = generatedCertificatePaths(config);
  const kept = await readTlsFiles(certPath, keyPath).catch(() => undefined);
  if (kept && stillGood(new X509Certificate(kept.cert), web.host)) {
    return { certPath, keyPath, pem: kept.cert, fingerprint256: new X509Certificate(kept.cert).fingerprint256, selfSigned: true, created: false };
  }
  const names = [...new Set(['DNS:localhost', 'IP:127.0.0.1', 'IP:::1', ...hostName(web.host)])];
  const { key, cert } = await selfSignedCertificate({ subject: '/CN=fulfillment web host (npm start)', names, days: 825 });
  // The key first: a certificate never sits beside a key that is not its own for long.
  await writeFileAtomic(keyPath, key, { mode: 0o600, overwrite: true, dirMode: 0o700 });
  await writeFileAtomic(certPath, cert, { mode: 0o644, overwrite: true, dirMode: 0o700 });
  return { certPath, keyPath, pem: cert, fingerprint256: new X509Certificate(cert).fingerprint256, selfSigned: true, created: true };
}

/** The configured host as a subject alternative name, unless it is a wildcard address (no client dials that). */
function hostName(host: string): string[] {
  if (host === '0.0.0.0' || host === '::') return [];
  return [isIP(host) ? `IP:${host}` : `DNS:${host}`];
}

function stillGood(cert: X509Certificate, host: string): boolean {
  if (Date.parse(cert.validTo) - Date.now() < RENEW_BEFORE_MS) return false;
  if (host === '0.0.0.0' || host === '::') return true;
  return isIP(host) ? cert.checkIP(host) !== undefined : cert.checkHost(host) !== undefined;
}

/** The environment that runs the supervised web host with `certificate`. */
export function certificateEnv(certificate: WebCertificate): Record<string, string> {
  return { FFS_SERVICES__WEB__TLS_CERT_PATH: certificate.certPath, FFS_SERVICES__WEB__TLS_KEY_PATH: certificate.keyPath };
}
