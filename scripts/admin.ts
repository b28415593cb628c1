/**
 * The internal-db admin CLI. It runs on the internal host and opens the database file itself
 * (config services.internalDb.dbPath, or --db), and runs the very operations the service serves,
 * so validation and errors are the same. Secrets it creates (passwords, tokens) are printed once.
 *
 *   node dist/scripts/admin.js <command> [flags]      (admin help lists the commands)
 *
 * Exit codes: 0 done; 2 usage error; 3 the operation was refused (its error code is printed);
 * 1 anything else.
 */
import { userInfo } from 'node:os';
import { parseArgs } from 'node:util';
import type { z } from 'zod';
import type { Body, Value } from '../lib/commlink/index.js';
import { loadConfig } from '../lib/config/index.js';
import { silentLogger } from '../lib/log/logger.js';
import { Backups } from '../services/internal-db/backup.js';
import { openDatabase } from '../services/internal-db/db/open.js';
import { seedDemo } from '../services/internal-db/demo.js';
import { generatePassword } from '../services/internal-db/passwords.js';
import * as InternalDb from '../lib/contracts/internal-db/index.js';
import type { ChangeActor } from '../lib/contracts/internal-db/changes.js';
import type { Operation } from '../lib/contracts/operation.js';
import { MAX_PAGE } from '../lib/contracts/page.js';
import { OPERATIONS } from '../services/internal-db/ops/index.js';
import { Store } from '../services/internal-db/store/index.js';
import { sessionsMain, SESSIONS_USAGE } from './admin-sessions.js';
import { errorText, resolveIo, runIfEntryPoint, table, type ResolvedIo, type ScriptIo } from './cli.js';
import { CodedError } from '../lib/errors/index.js';

/** How many changes `admin changes` shows unless --limit says. */
const DEFAULT_CHANGES = 100;

type Flags = Record<string, string | boolean | undefined>;

interface Command {
  /** Flags beyond the common --db and --json; `true` marks a required one. */
  flags: Record<string, { type: 'string' | 'boolean'; required?: boolean }>;
  usage: string;
  run(flags: Flags, ctx: CommandContext): Promise<Body>;
  /** Human-readable output; JSON when absent or with --json. */
  print?(result: Body, io: ResolvedIo): void;
}

interface CommandContext {
  /** Who runs this CLI: recorded with every change it makes. */
  by: ChangeActor;
  /** Runs an operation of the internal-db in this process, validated as the service validates it. */
  op(operation: Operation, body: Record<string, unknown>): Promise<Body>;
  /** Runs a listing page after page and answers every item under `key` (a CLI prints the whole list). */
  all(operation: Operation, body: Record<string, unknown>, key: string): Promise<Body>;
  store: Store;
  backups: Backups;
  stdin: () => Promise<string>;
}

const s = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);
const int = (v: string | boolean | undefined): number | undefined =>
  typeof v === 'string' && /^[0-9]+$/.test(v) ? Number(v) : typeof v === 'string' ? NaN : undefined;

/** The admin running the CLI: the OS user (the CLI runs on the internal host), from `cli`. */
function adminActor(env: NodeJS.ProcessEnv): ChangeActor {
  let name: string | undefined;
  try {
    name = userInfo().username;
  } catch {
    name = env.USER ?? env.LOGNAME; // no passwd entry for this uid (some containers)
  }
  return { kind: 'admin', id: (name || `uid-${process.getuid?.() ?? 'unknown'}`).slice(0, 128), address: 'cli' };
}

/** True when the operation changes something: its request takes `by` (lib/contracts/internal-db/changes.ts actorField). */
function takesActor(operation: Operation): boolean {
  const shape = (operation.request as z.ZodObject).shape as Record<string, unknown> | undefined;
  return shape !== undefined && 'by' in shape;
}

/** A change's subject in one column: the fields present, in a fixed order. */
function subjectText(change: Record<string, unknown>): string {
  const fields = ['customer', 'vendor', 'product', 'version', 'filename', 'entitlementId', 'tokenId', 'eulaId', 'fingerprint', 'protocol', 'bytes'];
  return fields
    .filter((f) => change[f] !== undefined)
    .map((f) => `${f}=${String(change[f])}`)
    .join(' ');
}

function actorText(actor: ChangeActor): string {
  return [actor.kind, actor.id, actor.address && `@${actor.address}`].filter(Boolean).join(' ');
}

const listOf = (key: string, columns: string[]) => (result: Body, io: ResolvedIo) => table(result[key] as Record<string, unknown>[], columns, io);

const COMMANDS: Record<string, Command> = {
  'vendor create': {
    flags: { name: { type: 'string', required: true } },
    usage: '--name NAME',
    run: (f, c) => c.op(InternalDb.vendorCreate, { name: s(f.name)! }),
  },
  'vendor list': { flags: {}, usage: '', run: (_f, c) => c.all(InternalDb.vendorList, {}, 'vendors'), print: listOf('vendors', ['name', 'createdAt']) },
  'product create': {
    flags: {
      vendor: { type: 'string', required: true },
      code: { type: 'string', required: true },
      name: { type: 'string', required: true },
      eula: { type: 'string' },
    },
    usage: '--vendor NAME --code CODE --name NAME [--eula ID]',
    run: (f, c) => c.op(InternalDb.productCreate, { vendor: s(f.vendor)!, code: s(f.code)!, name: s(f.name)!, eula: int(f.eula) as number }),
  },
  'product list': {
    flags: { vendor: { type: 'string' } },
    usage: '[--vendor NAME]',
    run: (f, c) => c.all(InternalDb.productList, { vendor: s(f.vendor) as string }, 'products'),
    print: listOf('products', ['code', 'name', 'vendor', 'eulaId']),
  },
  'release create': {
    flags: { product: { type: 'string', required: true }, version: { type: 'string', required: true }, channel: { type: 'string' } },
    usage: '--product CODE --version X.Y.Z [--channel stable]',
    run: (f, c) => c.op(InternalDb.releaseCreate, { product: s(f.product)!, version: s(f.version)!, channel: s(f.channel) as string }),
  },
  'release list': {
    flags: { product: { type: 'string', required: true } },
    usage: '--product CODE',
    run: (f, c) => c.all(InternalDb.releaseList, { product: s(f.product)! }, 'releases'),
    print: (r, io) =>
      table(
        (r.releases as Record<string, unknown>[]).map((x) => ({ ...x, artifacts: (x.artifacts as unknown[]).length })),
        ['version', 'channel', 'status', 'publishedAt', 'artifacts'],
        io,
      ),
  },
  'release publish': {
    flags: { product: { type: 'string', required: true }, version: { type: 'string', required: true } },
    usage: '--product CODE --version X.Y.Z',
    run: (f, c) => c.op(InternalDb.releasePublish, { product: s(f.product)!, version: s(f.version)! }),
  },
  'release yank': {
    flags: { product: { type: 'string', required: true }, version: { type: 'string', required: true } },
    usage: '--product CODE --version X.Y.Z',
    run: (f, c) => c.op(InternalDb.releaseYank, { product: s(f.product)!, version: s(f.version)! }),
  },
  'customer create': {
    flags: {
      login: { type: 'string', required: true },
      name: { type: 'string', required: true },
      email: { type: 'string' },
      'password-stdin': { type: 'boolean' },
      'no-password': { type: 'boolean' },
    },
    usage: '--login LOGIN --name NAME [--email E] [--password-stdin | --no-password]   (default: a generated password, printed once)',
    async run(f, c) {
      let password: string | undefined;
      let generated = false;
      if (f['password-stdin']) password = (await c.stdin()).split(/\r?\n/)[0] ?? '';
      else if (!f['no-password']) {
        password = generatePassword();
        generated = true;
      }
      const result = await c.op(InternalDb.customerCreate, { login: s(f.login)!, name: s(f.name)!, email: s(f.email) as string, password: password as string });
      return generated ? { ...result, password: password as string } : result;
    },
    print(r, io) {
      io.out(`customer ${String(r.login)} created`);
      if (typeof r.password === 'string') io.out(`password: ${r.password}   (shown once; it is stored only as a hash)`);
    },
  },
  'customer list': {
    flags: {},
    usage: '',
    run: (_f, c) => c.all(InternalDb.customerList, {}, 'customers'),
    print: listOf('customers', ['login', 'name', 'email', 'disabled', 'hasPassword', 'sshKeys']),
  },
  'entitlement grant': {
    flags: {
      customer: { type: 'string', required: true },
      product: { type: 'string', required: true },
      range: { type: 'string' },
      starts: { type: 'string' },
      expires: { type: 'string' },
      'on-expiry': { type: 'string' },
    },
    usage: '--customer LOGIN --product CODE [--range R] [--starts ISO] [--expires ISO] [--on-expiry keep|revoke]',
    run: (f, c) =>
      c.op(InternalDb.entitlementGrant, {
        customer: s(f.customer)!,
        product: s(f.product)!,
        range: s(f.range) as string,
        startsAt: s(f.starts) as string,
        expiresAt: s(f.expires) as string,
        onExpiry: s(f['on-expiry']) as string,
      }),
  },
  'entitlement list': {
    flags: { customer: { type: 'string', required: true } },
    usage: '--customer LOGIN',
    run: (f, c) => c.all(InternalDb.entitlementsList, { customer: s(f.customer)! }, 'entitlements'),
    print: listOf('entitlements', ['id', 'product', 'range', 'startsAt', 'expiresAt', 'onExpiry', 'status']),
  },
  'entitlement revoke': {
    flags: { id: { type: 'string', required: true } },
    usage: '--id N',
    run: (f, c) => c.op(InternalDb.entitlementRevoke, { id: int(f.id) as number }),
  },
  'token create': {
    flags: { kind: { type: 'string', required: true }, owner: { type: 'string' }, label: { type: 'string' } },
    usage: '--kind customer|vendor|admin [--owner LOGIN|VENDOR] [--label L]',
    run: (f, c) => c.op(InternalDb.tokenCreate, { kind: s(f.kind)!, owner: s(f.owner) as string, label: s(f.label) as string }),
    print: (r, io) => io.out(`token ${String(r.id)} (${String(r.ownerKind)}): ${String(r.token)}   (shown once)`),
  },
  changes: {
    flags: { customer: { type: 'string' }, vendor: { type: 'string' }, kind: { type: 'string' }, limit: { type: 'string' } },
    usage: '[--customer LOGIN] [--vendor NAME] [--kind KIND] [--limit N]   (the change log, newest first; default 100; KIND e.g. release.published)',
    async run(f, c) {
      const wanted = f.limit === undefined ? DEFAULT_CHANGES : (int(f.limit) as number);
      if (!Number.isInteger(wanted) || wanted < 1) throw InternalDb.InternalDbErrors.INVALID_INPUT('--limit must be a positive integer', { field: 'limit' });
      const filter = { customer: s(f.customer), vendor: s(f.vendor), kind: s(f.kind) };
      const changes: Value[] = [];
      let cursor: string | undefined;
      do {
        const page = await c.op(InternalDb.changesList, { ...filter, cursor, limit: Math.min(MAX_PAGE, wanted - changes.length) });
        changes.push(...(page.changes as Value[]));
        cursor = typeof page.next === 'string' ? page.next : undefined;
      } while (cursor !== undefined && changes.length < wanted);
      return { changes };
    },
    print: (r, io) =>
      table(
        (r.changes as Record<string, unknown>[]).map((x) => ({ ...x, subject: subjectText(x), by: actorText(x.actor as ChangeActor) })),
        ['seq', 'at', 'kind', 'subject', 'by'],
        io,
      ),
  },
  backup: {
    flags: { name: { type: 'string' } },
    usage: '[--name FILE]',
    run: (f, c) => c.backups.backup(s(f.name)),
    print: (r, io) => io.out(`backup written: ${String(r.path)}`),
  },
  'seed-demo': {
    flags: {},
    usage: '',
    run: async (_f, c) => seedDemo(c.store, c.by),
    print(r, io) {
      if (!r.created) {
        io.out('demo data present; nothing changed');
        return;
      }
      io.out('demo data created (shown once):');
      for (const [k, v] of Object.entries(r)) if (k !== 'created') io.out(`  ${k}: ${String(v)}`);
    },
  },
};

function usage(): string {
  return [
    'usage: admin <command> [flags] [--json] [--db PATH]',
    '',
    ...Object.entries(COMMANDS).map(([name, c]) => `  admin ${name} ${c.usage}`.trimEnd()),
    ...SESSIONS_USAGE.map((line) => `  admin ${line}`),
    '  admin help',
  ].join('\n');
}

/** Reads all of standard input (for --password-stdin). */
async function readStdin(): Promise<string> {
  if (process.stdin.isTTY) process.stderr.write('Password: ');
  let text = '';
  for await (const chunk of process.stdin) {
    text += String(chunk);
    if (process.stdin.isTTY && text.includes('\n')) break;
  }
  return text;
}

export async function main(argv: string[], io: ScriptIo = {}, stdinText?: string): Promise<number> {
  const resolved = resolveIo(io);
  if (argv[0] === 'sessions') return sessionsMain(argv.slice(1), resolved); // through the web host's API, not the database file
  const words: string[] = [];
  while (words.length < 2 && argv[words.length] !== undefined && !(argv[words.length] as string).startsWith('-')) words.push(argv[words.length] as string);
  const name = COMMANDS[words.join(' ')] ? words.join(' ') : COMMANDS[words[0] ?? ''] ? (words[0] as string) : undefined;
  if (words[0] === 'help' || (argv.length === 1 && (argv[0] === '--help' || argv[0] === '-h'))) {
    resolved.out(usage());
    return 0;
  }
  if (!name) {
    resolved.err(`admin: unknown command "${words.join(' ')}"`);
    resolved.err(usage());
    return 2;
  }
  const command = COMMANDS[name] as Command;
  let flags: Flags;
  try {
    flags = parseArgs({
      args: argv.slice(name.split(' ').length),
      options: { ...command.flags, json: { type: 'boolean' }, db: { type: 'string' } },
      strict: true,
      allowPositionals: false,
    }).values as Flags;
  } catch (e) {
    resolved.err(`admin ${name}: ${errorText(e)}`);
    resolved.err(`usage: admin ${name} ${command.usage}`);
    return 2;
  }
  const missing = Object.entries(command.flags).find(([flag, spec]) => spec.required && (flags[flag] === undefined || flags[flag] === ''));
  if (missing) {
    resolved.err(`admin ${name}: --${missing[0]} is required`);
    resolved.err(`usage: admin ${name} ${command.usage}`);
    return 2;
  }
  if (flags['password-stdin'] && flags['no-password']) {
    resolved.err(`admin ${name}: --password-stdin and --no-password exclude each other`);
    return 2;
  }
  let config;
  try {
    config = loadConfig({ env: resolved.env, cwd: resolved.cwd });
  } catch (e) {
    resolved.err(errorText(e));
    return 2;
  }
  const c = config.services.internalDb;
  const db = openDatabase(s(flags.db) ?? c.dbPath, { synchronous: c.synchronous });
  try {
    const store = new Store(db, { scryptLogN: c.scryptLogN, authCacheMs: 0 });
    const backups = new Backups(db, c.backupDir, c.backupKeep);
    const ops = new Map<Operation, (typeof OPERATIONS)[number]>(OPERATIONS.map((op) => [op.operation, op]));
    const by = adminActor(resolved.env);
    const op = async (operation: Operation, body: Record<string, unknown>) => {
      // Every change this CLI makes records the admin who made it.
      const clean = Object.fromEntries(Object.entries(takesActor(operation) ? { ...body, by } : body).filter(([, v]) => v !== undefined)) as Body;
      return (ops.get(operation) as (typeof OPERATIONS)[number]).run(clean, { store, log: silentLogger });
    };
    const ctx: CommandContext = {
      by,
      store,
      backups,
      op,
      all: async (operation, body, key) => {
        const items: Value[] = [];
        let cursor: string | undefined;
        do {
          const page = await op(operation, { ...body, cursor, limit: MAX_PAGE });
          items.push(...(page[key] as Value[]));
          cursor = typeof page.next === 'string' ? page.next : undefined;
        } while (cursor !== undefined);
        return { [key]: items };
      },
      stdin: async () => stdinText ?? (await readStdin()),
    };
    const result = await command.run(flags, ctx);
    if (flags.json || !command.print) resolved.out(JSON.stringify(result, null, 2));
    else command.print(result, resolved);
    return 0;
  } catch (e) {
    if (e instanceof CodedError) {
      resolved.err(`admin: ${e.code}: ${e.message}`);
      return 3;
    }
    resolved.err(`admin: ${errorText(e)}`);
    return 1;
  } finally {
    db.close();
  }
}

runIfEntryPoint(import.meta.url, (argv) => main(argv));
