/**
 * CPU used by processes over a round, from /proc/<pid>/stat (utime + stime, in clock ticks), and by
 * the children this process has reaped (cutime + cstime of /proc/self/stat: the load generators,
 * which run as short-lived children). Linux only; elsewhere every figure is 0.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

let ticks: number | undefined;
function ticksPerSecond(): number {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/** The fields of /proc/<pid>/stat after the command name (field 3 is index 0); undefined when it is gone. */
function statFields(pid: number | 'self'): string[] | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return text.slice(text.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** CPU seconds a process has used so far (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f ? (Number(f[11]) + Number(f[12])) / ticksPerSecond() : 0;
}

/** CPU seconds of the children this process has waited for (exited load generators). */
export function reapedChildrenSeconds(): number {
  const f = statFields('self');
  return f ? (Number(f[13]) + Number(f[14])) / ticksPerSecond() : 0;
}

/** The live children of a process. */
export function childrenOf(pid: number): number[] {
  const out: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc').filter((e) => /^\d+$/.test(e));
  } catch {
    return out;
  }
  for (const e of entries) {
    const f = statFields(Number(e));
    if (f && Number(f[1]) === pid) out.push(Number(e));
  }
  return out;
}

/** Named groups of processes (a group's pids are looked up at each snapshot: workers come and go). */
export type ProcessGroups = Record<string, () => number[]>;

/** The load generators: children of this process, counted once they have exited (reaped). */
export const LOAD_GENERATOR = 'load generator';

/** CPU seconds per group now (the load generator's from the reaped children's times). */
export function cpuSnapshot(groups: ProcessGroups): Map<string, Map<number, number>> {
  const out = new Map<string, Map<number, number>>();
  for (const [name, pids] of Object.entries(groups)) out.set(name, new Map(pids().map((pid) => [pid, cpuSeconds(pid)])));
  out.set(LOAD_GENERATOR, new Map([[0, reapedChildrenSeconds()]]));
  return out;
}

/** CPU seconds per group between two snapshots (a process that started meanwhile counts from 0). */
export function cpuBetween(before: Map<string, Map<number, number>>, after: Map<string, Map<number, number>>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, pids] of after) {
    let sum = 0;
    for (const [pid, seconds] of pids) sum += seconds - (before.get(name)?.get(pid) ?? 0);
    out.set(name, sum);
  }
  return out;
}
