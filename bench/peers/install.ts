/**
 * Before any benchmark runs: the tools the chosen benchmarks need (bench/peers/tools.ts), installed
 * from Debian's packages when missing. As root: `apt-get update` once, then `apt-get install -y`,
 * with a policy-rc.d that keeps the packages' own daemons (nginx on :80, vsftpd on :21, sshd on :22)
 * from starting; the benchmarks run their own instances on free loopback ports with their own
 * configurations. Not root: an error naming the packages and the command to run.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { defineError } from '../../lib/errors/index.js';
import { TOOLS, type Tool, type ToolName } from './tools.js';

/** Denies every service start during the install (invoke-rc.d and deb-systemd-invoke ask it). */
export const POLICY_RC_D = '/usr/sbin/policy-rc.d';
const DENY_ALL_STARTS = '#!/bin/sh\n# Written by bench/peers/install.ts for the length of one apt-get install.\nexit 101\n';

/** The benchmark runner's one error: peers it needs are missing and may not be installed here. */
export const PEERS_MISSING = defineError(
  'ERR_BENCH_PEERS_MISSING',
  'Tools the chosen benchmarks need are missing, and this process may not install them (the message names the command to run).',
);

export interface PeerOptions {
  /** Report what is missing and what would be run; install nothing. */
  dryRun?: boolean;
  /** Whether this process may install packages; default: running as root. */
  root?: boolean;
  /** Where progress goes; default stderr. */
  log?: (line: string) => void;
}

/** The tools named in `needs`, each once. */
export function toolsFor(needs: readonly ToolName[]): Tool[] {
  return [...new Set(needs)].map((name) => TOOLS[name]);
}

/** The command a person runs to install `tools`: each tool's preferred package. */
export function installCommand(tools: readonly Tool[]): string {
  return `apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ${tools.map((t) => t.packages[0]).join(' ')}`;
}

/** The first of `packages` that apt can install (after `apt-get update`), or undefined. */
function installable(packages: readonly string[]): string | undefined {
  return packages.find((name) => {
    const policy = spawnSync('apt-cache', ['policy', name], { encoding: 'utf8' }).stdout ?? '';
    const candidate = /Candidate:\s*(\S+)/.exec(policy)?.[1];
    return candidate !== undefined && candidate !== '(none)';
  });
}

function apt(args: string[], log: (line: string) => void): void {
  log(`  apt-get ${args.join(' ')}`);
  const done = spawnSync('apt-get', args, { stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  if (done.error) throw PEERS_MISSING(`apt-get could not run (${done.error.message}); install the packages by hand`);
  if (done.status !== 0) throw PEERS_MISSING(`apt-get ${args[0]} exited with ${done.status}`);
}

/** `apt-get install`, with no service of the new packages started while it runs. */
function installWithoutStartingServices(packages: readonly string[], log: (line: string) => void): void {
  const ours = !existsSync(POLICY_RC_D); // an existing policy (e.g. a container's) already decides
  if (ours) writeFileSync(POLICY_RC_D, DENY_ALL_STARTS, { mode: 0o755 });
  try {
    apt(['install', '-y', '--no-install-recommends', ...packages], log);
  } finally {
    if (ours) rmSync(POLICY_RC_D, { force: true });
  }
}

/**
 * Makes sure every tool in `needs` is installed; throws PEERS_MISSING (before any benchmark
 * runs) when it is not and cannot be.
 */
export function ensurePeers(needs: readonly ToolName[], options: PeerOptions = {}): void {
  ensureTools(toolsFor(needs), options);
}

export function ensureTools(tools: readonly Tool[], options: PeerOptions = {}): void {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const missing = tools.filter((tool) => !tool.present());
  if (missing.length === 0) return;
  const names = missing.map((t) => `${t.description}: ${t.packages.join(' or ')}`).join('; ');
  if (options.dryRun) {
    log(`missing: ${names}\nwould run: ${installCommand(missing)}`);
    return;
  }
  const root = options.root ?? process.getuid?.() === 0;
  if (!root)
    throw PEERS_MISSING(
      `the benchmarks need packages that are not installed (${names}). As root (e.g. after sudo -i), run:\n  ${installCommand(missing)}\nor run \`npm run bench\` as root to have it install them.`,
    );
  log(`installing what the benchmarks need: ${names}`);
  apt(['update'], log);
  const packages = missing.map((tool) => {
    const name = installable(tool.packages);
    if (!name) throw PEERS_MISSING(`apt has none of ${tool.packages.join(', ')} (for ${tool.description})`);
    return name;
  });
  installWithoutStartingServices([...new Set(packages)], log);
  const still = missing.filter((tool) => !tool.present());
  if (still.length > 0) throw PEERS_MISSING(`still missing after apt-get install: ${still.map((t) => t.description).join(', ')}`);
}
