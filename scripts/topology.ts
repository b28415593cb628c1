/**
 * The three-host topology on one machine (scripts/TOPOLOGY.md): network namespaces for the web, file
 * and internal hosts, joined by a switch that also reaches the root namespace (the customer side),
 * with the nftables rules of a real deployment's firewall. Needs root, ip (iproute2) and nft.
 *
 *   node dist/scripts/topology.js up [--prefix ffs] [--subnet 10.77.0.0/24] [--internal-mode listen|dial] [--json FILE] …
 *   node dist/scripts/topology.js down [--prefix ffs] [--kill]
 *   node dist/scripts/topology.js keys [--prefix ffs] [--data-root var/ffs]
 *
 * Exit codes: 0 done; 2 usage error; 1 anything else (the reason is printed).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { errorText, parseFlags, resolveIo, runIfEntryPoint, type FlagValues, type ResolvedIo, type ScriptIo } from './cli.js';
import { bringDown, bringUp, type Topology } from './topology/network.js';
import {
  DEFAULT_PORTS,
  DEFAULT_PREFIX,
  DEFAULT_SUBNET,
  HOST_ROLES,
  planTopology,
  TopologyUsageError,
  type InternalMode,
  type TopologyOptions,
  type TopologyPlan,
  type TopologyPorts,
} from './topology/plan.js';
import { rulesFor } from './topology/rules.js';
import { hostDirs, placeHostSecrets } from './topology/secrets.js';
import { serviceCommandLine, START_ORDER } from './topology/services.js';

const d = DEFAULT_PORTS;
export const USAGE = `usage: topology up [flags]     make the namespaces, links, addresses and firewall rules
       topology down [--prefix P] [--kill]   remove them (idempotent)
       topology keys [--prefix P] [--data-root DIR]   each host's data directory with its secrets only (no root needed)
  --prefix P                 names: P-web, P-file, P-internal, P-lan, root interface P-cust (default ${DEFAULT_PREFIX}; 1-10 of a-z0-9)
  --subnet a.b.c.0/24        addresses: customer .1, web .10, file .20, internal .30 (default ${DEFAULT_SUBNET})
  --internal-mode MODE       listen: the web host dials the internal-db; dial: the internal-db dials out (default listen)
  --web-port N               web HTTP (default ${d.webHttp})
  --web-commlink-port N      web commlink, dialled by the file host (default ${d.webCommlink})
  --internal-commlink-port N internal-db commlink, listen mode (default ${d.internalCommlink})
  --dial-port N              the web host's port for the internal-db, dial mode (default ${d.dial})
  --file-http-port N         file host HTTP downloads (default ${d.fileHttp})
  --ftp-port N               FTP control (default ${d.ftp})
  --sftp-port N              SFTP (default ${d.sftp})
  --passive-ports MIN-MAX    FTP passive range (default ${d.passiveMin}-${d.passiveMax})
  --data-root DIR            data directories: DIR/<host> (default var/<prefix>); up prints them, keys fills them
  --json FILE                also write the names and addresses as JSON to FILE
  --kill                     down: end processes still running in the namespaces first`;

const UP_FLAGS = {
  prefix: { type: 'string' },
  subnet: { type: 'string' },
  'internal-mode': { type: 'string' },
  'web-port': { type: 'string' },
  'web-commlink-port': { type: 'string' },
  'internal-commlink-port': { type: 'string' },
  'dial-port': { type: 'string' },
  'file-http-port': { type: 'string' },
  'ftp-port': { type: 'string' },
  'sftp-port': { type: 'string' },
  'passive-ports': { type: 'string' },
  'data-root': { type: 'string' },
  json: { type: 'string' },
} as const;

const DOWN_FLAGS = { prefix: { type: 'string' }, kill: { type: 'boolean' } } as const;

const KEYS_FLAGS = { prefix: { type: 'string' }, 'data-root': { type: 'string' } } as const;

const PORT_FLAGS: [flag: string, field: keyof TopologyPorts][] = [
  ['web-port', 'webHttp'],
  ['web-commlink-port', 'webCommlink'],
  ['internal-commlink-port', 'internalCommlink'],
  ['dial-port', 'dial'],
  ['file-http-port', 'fileHttp'],
  ['ftp-port', 'ftp'],
  ['sftp-port', 'sftp'],
];

const str = (v: string | boolean | undefined): string | undefined => (typeof v === 'string' ? v : undefined);

function port(flag: string, text: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) throw new TopologyUsageError(`--${flag} must be a port number (got ${JSON.stringify(text)})`);
  return Number(text);
}

/** The options of `up` from its flags (validated by planTopology). */
export function upOptions(flags: FlagValues): TopologyOptions {
  const ports: TopologyPorts = { ...DEFAULT_PORTS };
  for (const [flag, field] of PORT_FLAGS) {
    const text = str(flags[flag]);
    if (text !== undefined) ports[field] = port(flag, text);
  }
  const passive = str(flags['passive-ports']);
  if (passive !== undefined) {
    const match = /^([0-9]+)-([0-9]+)$/.exec(passive);
    if (!match) throw new TopologyUsageError(`--passive-ports must be MIN-MAX (got ${JSON.stringify(passive)})`);
    ports.passiveMin = port('passive-ports', match[1] as string);
    ports.passiveMax = port('passive-ports', match[2] as string);
  }
  return {
    prefix: str(flags.prefix) ?? DEFAULT_PREFIX,
    subnet: str(flags.subnet) ?? DEFAULT_SUBNET,
    internalMode: (str(flags['internal-mode']) ?? 'listen') as InternalMode,
    ports,
  };
}

/** The names, addresses and rules of a plan, then the commands that start each service in its namespace. */
export function describe(plan: TopologyPlan, dataRoot: string): string[] {
  const lines = [`topology ${plan.prefix}: ${plan.subnet}, internal-db mode ${plan.internalMode}`];
  lines.push(`  customer  (root namespace)  ${plan.addresses.customer.padEnd(15)} interface ${plan.customerInterface}`);
  for (const role of HOST_ROLES) lines.push(`  ${role.padEnd(9)} netns ${plan.namespaces[role].padEnd(15)} ${plan.addresses[role]}`);
  lines.push(`  switch    netns ${plan.namespaces.lan} (bridge br0, no address)`, '', 'firewall (nft, table inet ffs, input chain, policy drop):');
  for (const role of HOST_ROLES) {
    const accepts = rulesFor(plan, role)
      .split('\n')
      .filter((l) => / accept comment /.test(l));
    lines.push(`  ${role}:${accepts.length === 0 ? ' nothing inbound (replies to its own connections only)' : ''}`);
    for (const rule of accepts) lines.push(`    ${rule.trim()}`);
  }
  lines.push('', `start the services (each data directory holding that host's secrets: topology keys; scripts/TOPOLOGY.md):`);
  for (const role of START_ORDER) lines.push(`  ${serviceCommandLine(plan, role, path.join(dataRoot, role))}`);
  return lines;
}

async function up(flags: FlagValues, io: ResolvedIo): Promise<number> {
  let options: TopologyOptions;
  try {
    options = upOptions(flags);
    planTopology(options);
  } catch (e) {
    io.err(`topology up: ${errorText(e)}`);
    io.err(USAGE);
    return 2;
  }
  let topology: Topology;
  try {
    topology = await bringUp(options);
  } catch (e) {
    io.err(`topology up: ${errorText(e)}`);
    return 1;
  }
  const { down: _down, ...plan } = topology;
  for (const line of describe(plan, str(flags['data-root']) ?? path.join('var', plan.prefix))) io.out(line);
  const json = str(flags.json);
  if (json !== undefined) {
    try {
      await writeFile(path.resolve(io.cwd, json), `${JSON.stringify(plan, null, 2)}\n`);
    } catch (e) {
      io.err(`topology up: the topology is up, but ${json} could not be written: ${errorText(e)}`);
      return 1;
    }
  }
  return 0;
}

async function down(flags: FlagValues, io: ResolvedIo): Promise<number> {
  const prefix = str(flags.prefix) ?? DEFAULT_PREFIX;
  try {
    const report = await bringDown(prefix, { killProcesses: flags.kill === true });
    io.out(report.removed.length === 0 ? `topology ${prefix}: nothing to remove` : `topology ${prefix}: removed ${report.removed.join(', ')}`);
    for (const { namespace, pids } of report.lingering)
      io.err(`topology down: processes still run in ${namespace} (pids ${pids.join(', ')}); it is gone when they exit (--kill ends them)`);
    return 0;
  } catch (e) {
    io.err(`topology down: ${errorText(e)}`);
    return e instanceof TopologyUsageError ? 2 : 1;
  }
}

/**
 * Each host's data directory with the secrets it holds and no other: both key bags on the web host,
 * the web host ↔ file host bag on the file host, the web host ↔ internal-db bag on the internal host.
 */
async function keys(flags: FlagValues, io: ResolvedIo): Promise<number> {
  const prefix = str(flags.prefix) ?? DEFAULT_PREFIX;
  const root = path.resolve(io.cwd, str(flags['data-root']) ?? path.join('var', prefix));
  try {
    await placeHostSecrets(hostDirs(root), { env: secretSettings(io.env), out: io.out });
    return 0;
  } catch (e) {
    io.err(`topology keys: ${errorText(e)}`);
    return 1;
  }
}

/** The FFS_* settings passed on to the gen-* scripts: all but the data directory, which is each host's. */
function secretSettings(env: ResolvedIo['env']): Record<string, string> {
  return Object.fromEntries(Object.entries(env).filter((e): e is [string, string] => e[0].startsWith('FFS_') && e[0] !== 'FFS_DATA_DIR' && e[1] !== undefined));
}

export async function main(argv: string[], io: ScriptIo = {}): Promise<number> {
  const resolved = resolveIo(io);
  const [command, ...rest] = argv;
  if (command === '--help' || command === '-h' || command === 'help') {
    resolved.out(USAGE);
    return 0;
  }
  if (command !== 'up' && command !== 'down' && command !== 'keys') {
    resolved.err(command === undefined ? 'topology: a command is needed (up, down or keys)' : `topology: unknown command ${JSON.stringify(command)}`);
    resolved.err(USAGE);
    return 2;
  }
  const flags = parseFlags(`topology ${command}`, rest, command === 'up' ? UP_FLAGS : command === 'down' ? DOWN_FLAGS : KEYS_FLAGS, USAGE, resolved);
  if (flags === undefined) return 2;
  if (flags === 'help') return 0;
  if (command === 'keys') return keys(flags, resolved);
  return command === 'up' ? up(flags, resolved) : down(flags, resolved);
}

runIfEntryPoint(import.meta.url, main);
