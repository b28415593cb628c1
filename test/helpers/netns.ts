/** Processes and TCP probes inside the network namespaces of a topology (scripts/topology). */
import { spawn, type ChildProcess } from 'node:child_process';
import { connect } from 'node:net';
import type { HostRole, TopologyPlan } from '../../scripts/topology/plan.js';
import { serviceArgv, serviceEnv } from '../../scripts/topology/services.js';
import { systemTool } from '../../scripts/topology/shell.js';

/** What a TCP connection attempt came to: connected, dropped (no answer in time), or the error code (ECONNREFUSED …). */
export type ProbeResult = 'connected' | 'timeout' | string;

/** The probe as a script for `node -e` (argv: host port timeoutMs); prints the result. */
const PROBE_SCRIPT = `
const [host, port, ms] = process.argv.slice(1);
const done = (r) => { console.log(r); process.exit(0); };
const s = require('node:net').connect({ host, port: Number(port) });
setTimeout(() => done('timeout'), Number(ms));
s.on('connect', () => { s.destroy(); done('connected'); });
s.on('error', (e) => done(e.code || e.message));
`;

function probeHere(host: string, port: number, timeoutMs: number): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve('timeout');
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      resolve(err.code ?? err.message);
    });
  });
}

/** Opens a TCP connection to host:port from a namespace (undefined: this one, the customer side) and closes it. */
export function probeTcp(from: string | undefined, host: string, port: number, timeoutMs = 1500): Promise<ProbeResult> {
  if (from === undefined) return probeHere(host, port, timeoutMs);
  return new Promise((resolve, reject) => {
    const child = spawn(systemTool('ip'), ['netns', 'exec', from, process.execPath, '-e', PROBE_SCRIPT, host, String(port), String(timeoutMs)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (out += text));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`probe from ${from} failed (exit ${String(code)}): ${out}`))));
  });
}

/** A service running in its host's namespace. */
export interface HostProcess {
  role: HostRole;
  child: ChildProcess;
  /** Everything it wrote (stdout and stderr: the JSON log), the last 256 KiB. */
  output(): string;
  exited: Promise<number | null>;
  /** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves with its exit code. */
  stop(graceMs?: number): Promise<number | null>;
}

/** Starts one host's service with `ip netns exec` and the FFS_* variables of scripts/topology/services.ts. */
export function startHostService(plan: TopologyPlan, role: HostRole, dataDir: string, distDir: string, extraEnv: Record<string, string> = {}): HostProcess {
  const [file, ...args] = serviceArgv(plan, role, distDir, process.execPath) as [string, ...string[]];
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...serviceEnv(plan, role, dataDir), ...extraEnv };
  const child = spawn(systemTool(file), args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer) => {
    output += chunk.toString();
    if (output.length > 256 * 1024) output = output.slice(-256 * 1024);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  child.once('error', (err) => (output += `\nspawn failed: ${err.message}\n`));
  const stop = async (graceMs = 10_000): Promise<number | null> => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    const code = await exited;
    clearTimeout(timer);
    return code;
  };
  return { role, child, output: () => output, exited, stop };
}
