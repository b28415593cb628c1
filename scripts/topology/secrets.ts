/**
 * A data directory per host, each with the secrets that host holds and no other (scripts/TOPOLOGY.md):
 *
 *   web       both commlink key bags, the ticket private key and public key, the portal's session keys
 *   file      the web host ↔ file host bag, the ticket public key, the SSH host key, the FTPS certificate
 *   internal  the web host ↔ internal-db bag (the database is made there later)
 *
 * So a file host's bag cannot open the internal-db's link, firewall or not. Each secret is made by its
 * gen-* script on the host that keeps it, and copied only where it is shared (mode kept: 0600 stays
 * 0600). Existing secrets are kept, as the gen-* scripts keep them; the copies are refreshed from the
 * web host's directory.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { loadConfig, type Environment } from '../../lib/config/index.js';
import { errorText } from '../cli.js';
import { bagPath, main as genKeybag } from '../gen-keybag.js';
import { main as genHostKeys } from '../gen-host-keys.js';
import { main as genRsa } from '../gen-rsa.js';
import { main as genSessionKey } from '../gen-session-key.js';
import type { HostRole } from './plan.js';

export type HostDirs = Record<HostRole, string>;

/** Each host's data directory under `root`: root/web, root/file, root/internal. */
export function hostDirs(root: string): HostDirs {
  return { web: join(root, 'web'), file: join(root, 'file'), internal: join(root, 'internal') };
}

type Script = (argv: string[], io: { env: Environment; stdout: (t: string) => void; stderr: (t: string) => void }) => Promise<number>;

/** Runs a gen-* script in-process with FFS_DATA_DIR=dataDir; throws with its error output when it fails. */
async function run(name: string, script: Script, dataDir: string, env: Environment, out: (line: string) => void): Promise<void> {
  let err = '';
  const code = await script([], {
    env: { ...env, FFS_DATA_DIR: dataDir },
    stdout: (text) => text.split('\n').forEach((line) => line && out(`  ${line}`)),
    stderr: (text) => (err += text),
  });
  if (code !== 0) throw new Error(`${name} for ${dataDir} failed (exit ${code}): ${err.trim()}`);
}

/** Copies a secret from one host's directory to another's (parents 0700; the file's mode comes along). */
async function share(from: string, to: string, out: (line: string) => void): Promise<void> {
  await mkdir(dirname(to), { recursive: true, mode: 0o700 });
  await copyFile(from, to);
  out(`  copied ${from} to ${to}`);
}

/**
 * Makes what is missing of each host's secrets, in each host's data directory. `env` may set other
 * FFS_* settings (e.g. FFS_RSA__BITS), never the data directory. Resolves with the directories.
 */
export async function placeHostSecrets(dirs: HostDirs, options: { env?: Environment; out?: (line: string) => void } = {}): Promise<HostDirs> {
  const env = options.env ?? {};
  const out = options.out ?? (() => {});
  const configOf = (role: HostRole) => loadConfig({ env: { ...env, FFS_DATA_DIR: dirs[role] } });
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
  const web = configOf('web');
  const file = configOf('file');
  const internal = configOf('internal');
  try {
    out(`web host (${dirs.web}):`);
    await run('gen-keybag', genKeybag, dirs.web, env, out);
    await run('gen-rsa', genRsa, dirs.web, env, out);
    await run('gen-session-key', genSessionKey, dirs.web, env, out);
    out(`file host (${dirs.file}):`);
    await share(bagPath(web, 'fileHost'), bagPath(file, 'fileHost'), out);
    await share(web.rsa.publicKeyPath, file.rsa.publicKeyPath, out);
    await run('gen-host-keys', genHostKeys, dirs.file, env, out);
    out(`internal host (${dirs.internal}):`);
    await share(bagPath(web, 'internalDb'), bagPath(internal, 'internalDb'), out);
  } catch (e) {
    throw new Error(`placing the hosts' secrets: ${errorText(e)}`, { cause: e });
  }
  return dirs;
}
