/**
 * `admin sessions list` and `admin sessions end <id>`: the live FTP and SFTP sessions and HTTP
 * downloads of the file hosts, through a web host's REST API (GET and DELETE /api/v1/sessions),
 * since the database knows nothing of them. The web host is `--url`, else FFS_WEB_URL, else the
 * configured one (services.web.publicUrl, or http://host:port); the admin API token is read from
 * `--token-file`, else FFS_ADMIN_TOKEN (never a flag of its own: the command line shows in `ps`).
 *
 * Exit codes as the other admin commands: 0 done; 2 usage error; 3 refused (the API's error code is
 * printed: ERR_NOT_FOUND, ERR_FORBIDDEN …); 1 anything else (the web host unreachable …).
 */
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config/index.js';
import { errorText, table, type ResolvedIo } from './cli.js';

export const SESSIONS_USAGE = [
  'sessions list [--url URL] [--token-file PATH] [--json]',
  'sessions end ID [--reason TEXT] [--url URL] [--token-file PATH] [--json]   (token: --token-file or FFS_ADMIN_TOKEN)',
];

const FLAGS = {
  url: { type: 'string' },
  'token-file': { type: 'string' },
  reason: { type: 'string' },
  json: { type: 'boolean' },
} as const;

class Refused extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** The web host's base URL: the flag, FFS_WEB_URL, or the configuration's. */
function webUrl(flag: string | undefined, io: ResolvedIo): string {
  const url = flag ?? io.env.FFS_WEB_URL;
  if (url) return url.replace(/\/+$/, '');
  const { web } = loadConfig({ env: io.env, cwd: io.cwd }).services;
  return web.publicUrl || `http://${web.host.includes(':') ? `[${web.host}]` : web.host}:${web.port}`;
}

async function tokenOf(file: string | undefined, io: ResolvedIo): Promise<string | undefined> {
  if (file !== undefined) return (await readFile(file, 'utf8')).trim();
  return io.env.FFS_ADMIN_TOKEN?.trim() || undefined;
}

async function call(base: string, token: string, method: 'GET' | 'DELETE', path: string): Promise<Record<string, unknown>> {
  const res = await fetch(`${base}/api/v1${path}`, { method, headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  try {
    body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
  } catch {
    // not JSON: said below
  }
  if (res.ok) return body;
  const error = body.error as { code?: string; message?: string } | undefined;
  if (error?.code) throw new Refused(error.code, error.message ?? '');
  throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`);
}

function human(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let n = bytes;
  let u = 0;
  while (n >= 1024 && u < units.length - 1) {
    n /= 1024;
    u++;
  }
  return `${u === 0 ? n : n.toFixed(1)} ${units[u]}`;
}

export async function sessionsMain(argv: string[], io: ResolvedIo): Promise<number> {
  const verb = argv[0];
  if (verb !== 'list' && verb !== 'end') {
    io.err(`admin: unknown command "sessions${verb === undefined ? '' : ` ${verb}`}"`);
    for (const line of SESSIONS_USAGE) io.err(`usage: admin ${line}`);
    return 2;
  }
  const usage = `usage: admin ${SESSIONS_USAGE[verb === 'list' ? 0 : 1]!}`;
  let flags: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values: flags, positionals } = parseArgs({ args: argv.slice(1), options: FLAGS, strict: true, allowPositionals: true }));
  } catch (e) {
    io.err(`admin sessions ${verb}: ${errorText(e)}`);
    io.err(usage);
    return 2;
  }
  const expected = verb === 'end' ? 1 : 0;
  if (positionals.length !== expected || (verb === 'list' && flags.reason !== undefined)) {
    io.err(`admin sessions ${verb}: ${verb === 'end' ? 'give one session id (as sessions list shows it)' : 'takes no arguments and no --reason'}`);
    io.err(usage);
    return 2;
  }
  let base: string;
  let token: string | undefined;
  try {
    base = webUrl(flags.url as string | undefined, io);
    token = await tokenOf(flags['token-file'] as string | undefined, io);
  } catch (e) {
    io.err(`admin sessions ${verb}: ${errorText(e)}`);
    return 2;
  }
  if (!token) {
    io.err(`admin sessions ${verb}: an admin API token is needed: --token-file PATH, or FFS_ADMIN_TOKEN`);
    return 2;
  }
  try {
    if (verb === 'list') {
      const result = await call(base, token, 'GET', '/sessions');
      if (flags.json) io.out(JSON.stringify(result, null, 2));
      else printList(result, io);
    } else {
      const id = positionals[0]!;
      const reason = flags.reason as string | undefined;
      const result = await call(base, token, 'DELETE', `/sessions/${encodeURIComponent(id)}${reason ? `?reason=${encodeURIComponent(reason)}` : ''}`);
      if (flags.json) io.out(JSON.stringify(result, null, 2));
      else io.out(`session ${id} ended`);
    }
    return 0;
  } catch (e) {
    if (e instanceof Refused) {
      io.err(`admin: ${e.code}: ${e.message}`);
      return 3;
    }
    io.err(`admin: ${base}: ${errorText(e)}${e instanceof Error && e.cause ? ` (${errorText(e.cause)})` : ''}`);
    return 1;
  }
}

function printList(result: Record<string, unknown>, io: ResolvedIo): void {
  const sessions = (result.sessions as Record<string, unknown>[]).map((s) => ({
    ...s,
    bytes: human(s.bytes as number),
    rate: `${human(s.rate as number)}/s`,
    elapsed: `${Math.round((s.elapsedMs as number) / 1000)} s`,
  }));
  table(sessions, ['id', 'customer', 'protocol', 'clientAddress', 'file', 'bytes', 'rate', 'elapsed'], io);
  for (const u of result.unavailable as { host: string; code: string }[]) io.err(`file host ${u.host} did not answer (${u.code}): its sessions are not listed`);
}
