/**
 * Brings a topology up and down with ip(8) and nft(8): the namespaces, the switch (a bridge in its
 * own namespace, so every host has a route to every other and only the firewall decides), the
 * links, the addresses and the rule sets of plan.ts and rules.ts.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { namesOf, networksOverlap, planTopology, HOST_ROLES, type TopologyOptions, type TopologyPlan } from './plan.js';
import { rulesFor } from './rules.js';
import { CommandError, ip, nftIn, run, systemTool } from './shell.js';

/** A topology that is up: its plan, and how to take it down again. */
export interface Topology extends TopologyPlan {
  /** Removes everything `bringUp` made (idempotent); see bringDown. */
  down(options?: DownOptions): Promise<DownReport>;
}

export interface DownOptions {
  /** End the processes still running in the namespaces (SIGTERM, then SIGKILL after 5 s). */
  killProcesses?: boolean;
}

export interface DownReport {
  /** Namespaces and root interfaces that were there and are gone. */
  removed: string[];
  /** Namespaces whose processes still run: the name is gone, the namespace lives until they exit. */
  lingering: { namespace: string; pids: number[] }[];
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
}

/** Throws a TopologyError naming what is missing when this machine cannot make namespaces and rules. */
export async function checkPrerequisites(): Promise<void> {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push(`root (running as uid ${String(process.getuid?.())}; network namespaces need CAP_SYS_ADMIN and CAP_NET_ADMIN)`);
  for (const [tool, args, pkg, banner] of [
    ['ip', ['-V'], 'iproute2', /iproute2/],
    ['nft', ['-v'], 'nftables', /^nftables/],
  ] as const) {
    try {
      const version = await run(systemTool(tool), args);
      if (!banner.test(version.trim()))
        missing.push(`${tool} (package ${pkg}): ${systemTool(tool)} is something else (${JSON.stringify(version.trim().slice(0, 60))})`);
    } catch (e) {
      missing.push(`${tool} (package ${pkg}): ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  if (missing.length > 0) throw new TopologyError(`the three-host topology needs root, ip (iproute2) and nft (nftables); missing: ${missing.join('; ')}`);
}

async function namespaceNames(): Promise<Set<string>> {
  const listing = await ip('netns', 'list');
  return new Set(
    listing
      .split('\n')
      .map((line) => line.trim().split(/\s+/)[0] ?? '')
      .filter((name) => name !== ''),
  );
}

async function rootLinkNames(): Promise<Set<string>> {
  const links = JSON.parse(await ip('-j', 'link', 'show')) as { ifname: string }[];
  return new Set(links.map((l) => l.ifname));
}

/** Refuses a plan whose names exist already or whose subnet overlaps one the root namespace uses. */
async function checkFree(plan: TopologyPlan): Promise<void> {
  const existing = await namespaceNames();
  const taken = Object.values(plan.namespaces).filter((ns) => existing.has(ns));
  if ((await rootLinkNames()).has(plan.customerInterface)) taken.push(plan.customerInterface);
  if (taken.length > 0) {
    throw new TopologyError(
      `a topology with prefix "${plan.prefix}" exists already (${taken.join(', ')}); run \`topology down --prefix ${plan.prefix}\` first`,
    );
  }
  const ours = { address: plan.addresses.customer, length: plan.prefixLength };
  const addrs = JSON.parse(await ip('-j', '-4', 'addr', 'show')) as { ifname: string; addr_info: { local: string; prefixlen: number }[] }[];
  for (const link of addrs) {
    for (const a of link.addr_info) {
      if (networksOverlap(ours, { address: a.local, length: a.prefixlen }))
        throw new TopologyError(`subnet ${plan.subnet} overlaps ${a.local}/${a.prefixlen} on ${link.ifname}; choose another --subnet`);
    }
  }
  const routes = JSON.parse(await ip('-j', '-4', 'route', 'show', 'table', 'all')) as { dst: string; dev?: string }[];
  for (const route of routes) {
    if (route.dst === 'default') continue;
    const [address, length] = route.dst.split('/');
    if (address && /^\d+\.\d+\.\d+\.\d+$/.test(address) && networksOverlap(ours, { address, length: length === undefined ? 32 : Number(length) })) {
      throw new TopologyError(`subnet ${plan.subnet} overlaps the route to ${route.dst}${route.dev ? ` on ${route.dev}` : ''}; choose another --subnet`);
    }
  }
}

async function build(plan: TopologyPlan): Promise<void> {
  const { namespaces: ns, addresses } = plan;
  const cidr = (address: string) => `${address}/${plan.prefixLength}`;
  for (const name of Object.values(ns)) {
    await ip('netns', 'add', name);
    await ip('-n', name, 'link', 'set', 'dev', 'lo', 'up');
  }
  // The switch: a bridge with no address of its own; STP off, so ports forward at once.
  await ip('-n', ns.lan, 'link', 'add', 'name', 'br0', 'type', 'bridge', 'stp_state', '0');
  await ip('-n', ns.lan, 'link', 'set', 'dev', 'br0', 'up');
  for (const role of HOST_ROLES) {
    await ip('-n', ns.lan, 'link', 'add', 'name', role, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns[role]);
    await ip('-n', ns.lan, 'link', 'set', 'dev', role, 'master', 'br0', 'up');
    await ip('-n', ns[role], 'addr', 'add', cidr(addresses[role]), 'dev', 'eth0');
    await ip('-n', ns[role], 'link', 'set', 'dev', 'eth0', 'up');
  }
  // The customer side: the root namespace's own link to the switch.
  await ip('link', 'add', 'name', plan.customerInterface, 'type', 'veth', 'peer', 'name', 'customer', 'netns', ns.lan);
  await ip('-n', ns.lan, 'link', 'set', 'dev', 'customer', 'master', 'br0', 'up');
  await ip('addr', 'add', cidr(addresses.customer), 'dev', plan.customerInterface);
  await ip('link', 'set', 'dev', plan.customerInterface, 'up');
  for (const role of HOST_ROLES) await nftIn(ns[role], ['-f', '-'], rulesFor(plan, role));
}

/**
 * Makes the namespaces, links, addresses and rule sets of a topology, and returns its handle. A
 * failure part-way removes what was made before it is reported.
 */
export async function bringUp(options: TopologyOptions): Promise<Topology> {
  const plan = planTopology(options);
  await checkPrerequisites();
  await checkFree(plan);
  try {
    await build(plan);
  } catch (e) {
    await bringDown(plan.prefix).catch(() => {});
    throw e;
  }
  return { ...plan, down: (downOptions) => bringDown(plan.prefix, downOptions) };
}

async function pidsIn(namespace: string): Promise<number[]> {
  const text = await ip('netns', 'pids', namespace).catch((e: unknown) => (e instanceof CommandError ? '' : Promise.reject(e)));
  return text
    .split('\n')
    .filter((line) => /^\d+$/.test(line.trim()))
    .map(Number);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // gone already
  }
}

/** SIGTERM to every process in the namespace, SIGKILL to what is left after 5 s. */
async function endProcesses(namespace: string): Promise<void> {
  const pids = await pidsIn(namespace);
  if (pids.length === 0) return;
  for (const pid of pids) signal(pid, 'SIGTERM');
  for (let waited = 0; waited < 5000 && (await pidsIn(namespace)).length > 0; waited += 100) await sleep(100);
  for (const pid of await pidsIn(namespace)) signal(pid, 'SIGKILL');
  for (let waited = 0; waited < 2000 && (await pidsIn(namespace)).length > 0; waited += 50) await sleep(50);
}

/**
 * Removes the root interface and the namespaces a prefix names, whichever of them exist: running
 * it twice, or on a topology that was never (fully) made, is not an error.
 */
export async function bringDown(prefix: string, options: DownOptions = {}): Promise<DownReport> {
  const names = namesOf(prefix);
  const report: DownReport = { removed: [], lingering: [] };
  if ((await rootLinkNames()).has(names.customerInterface)) {
    await ip('link', 'del', 'dev', names.customerInterface);
    report.removed.push(names.customerInterface);
  }
  const existing = await namespaceNames();
  for (const namespace of names.namespaces.filter((n) => existing.has(n))) {
    if (options.killProcesses) await endProcesses(namespace);
    const pids = await pidsIn(namespace);
    if (pids.length > 0) report.lingering.push({ namespace, pids });
    await ip('netns', 'del', namespace);
    report.removed.push(namespace);
  }
  return report;
}
