import { createPrivateKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import type { WebTlsFiles } from './server.js';

/**
 * The HTTPS certificate chain and key from services.web.tlsCertPath / tlsKeyPath, checked before
 * anything listens: a missing or unreadable file, text that is no PEM certificate or key, or a key
 * that is not the certificate's fails the start with the field named.
 */
export async function readTlsFiles(certPath: string, keyPath: string): Promise<WebTlsFiles> {
  const cert = await readField('services.web.tlsCertPath', certPath);
  const key = await readField('services.web.tlsKeyPath', keyPath);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert); // the first certificate of the chain: the server's own
  } catch (err) {
    throw new Error(`services.web.tlsCertPath: ${certPath} holds no PEM certificate (${(err as Error).message})`, { cause: err });
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(key);
  } catch (err) {
    throw new Error(`services.web.tlsKeyPath: ${keyPath} holds no PEM private key (${(err as Error).message})`, { cause: err });
  }
  if (!leaf.checkPrivateKey(privateKey)) {
    throw new Error(`services.web.tlsKeyPath: ${keyPath} is not the private key of the certificate in services.web.tlsCertPath (${certPath})`);
  }
  return { cert, key };
}

async function readField(field: string, path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${field}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, { cause: err });
  }
}
