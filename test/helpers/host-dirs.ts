/**
 * A data directory per host, each with the secrets that host holds and no other: the key bag on all
 * three; the database on the internal host; the ticket private key and the session keys on the web
 * host; the ticket public key, the SSH host key and the FTPS certificate on the file host. Each
 * secret is made by its gen-* script on the host that keeps it, and copied only where it is shared.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import type { HostRole } from '../../scripts/topology/plan.js';
import { main as adminCli } from '../../scripts/admin.js';
import { main as genHostKeys } from '../../scripts/gen-host-keys.js';
import { main as genKeybag } from '../../scripts/gen-keybag.js';
import { main as genRsa } from '../../scripts/gen-rsa.js';
import { main as genSessionKey } from '../../scripts/gen-session-key.js';

export type HostDirs = Record<HostRole, string>;

type Script = (argv: string[], io: { env: Record<string, string>; stdout: (t: string) => void; stderr: (t: string) => void }) => Promise<number>;

/** Runs a script in-process with FFS_DATA_DIR=dataDir; resolves with its output, throws when it fails. */
async function runScript(name: string, script: Script, argv: string[], dataDir: string, env: Record<string, string> = {}): Promise<string> {
  let out = '';
  let err = '';
  const code = await script(argv, { env: { FFS_DATA_DIR: dataDir, ...env }, stdout: (t) => (out += t), stderr: (t) => (err += t) });
  if (code !== 0) throw new Error(`${name} ${argv.join(' ')} failed (exit ${code}): ${err}`);
  return out;
}

/** Copies `<from>/secrets/<name>` to `<to>/secrets/<name>` (the mode comes along: 0600 stays 0600). */
async function share(from: string, to: string, name: string): Promise<void> {
  const target = join(to, 'secrets', name);
  await mkdir(dirname(target), { recursive: true, mode: 0o700 });
  await copyFile(join(from, 'secrets', name), target);
}

export async function prepareHostDirs(base: string): Promise<HostDirs> {
  const dirs: HostDirs = { internal: join(base, 'internal'), web: join(base, 'web'), file: join(base, 'file') };
  for (const dir of Object.values(dirs)) await mkdir(dir, { recursive: true, mode: 0o700 });
  await runScript('gen-keybag', genKeybag, [], dirs.internal);
  await share(dirs.internal, dirs.web, 'keybag');
  await share(dirs.internal, dirs.file, 'keybag');
  await runScript('gen-rsa', genRsa, [], dirs.web, { FFS_RSA__BITS: '2048' });
  await share(dirs.web, dirs.file, 'ticket-rsa.pub.pem');
  await runScript('gen-session-key', genSessionKey, [], dirs.web);
  await runScript('gen-host-keys', genHostKeys, [], dirs.file);
  return dirs;
}

/** An admin API token, made with the admin CLI on the internal host's database file (before the service opens it). */
export async function seedAdminToken(internalDir: string): Promise<string> {
  const out = await runScript(
    'admin',
    (argv, io) => adminCli(argv, io),
    ['token', 'create', '--kind', 'admin', '--label', 'three-hosts', '--json'],
    internalDir,
  );
  return (JSON.parse(out) as { token: string }).token;
}
