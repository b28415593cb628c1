/**
 * A data directory per host, each with the secrets that host holds and no other, placed as
 * `topology keys` places them (scripts/topology/secrets.ts): both key bags on the web host, the
 * web host ↔ file host bag on the file host, the web host ↔ internal-db bag on the internal host.
 */
import { hostDirs, placeHostSecrets, type HostDirs } from '../../scripts/topology/secrets.js';
import { main as adminCli } from '../../scripts/admin.js';

export type { HostDirs };

export async function prepareHostDirs(base: string): Promise<HostDirs> {
  return placeHostSecrets(hostDirs(base), { env: { FFS_RSA__BITS: '2048' } });
}

/** An admin API token, made with the admin CLI on the internal host's database file (before the service opens it). */
export async function seedAdminToken(internalDir: string): Promise<string> {
  let out = '';
  let err = '';
  const code = await adminCli(['token', 'create', '--kind', 'admin', '--label', 'three-hosts', '--json'], {
    env: { FFS_DATA_DIR: internalDir },
    stdout: (t) => (out += t),
    stderr: (t) => (err += t),
  });
  if (code !== 0) throw new Error(`admin token create failed (exit ${code}): ${err}`);
  return (JSON.parse(out) as { token: string }).token;
}
