/**
 * CPU time of process trees, from Linux's /proc: a process's own user+system time plus what its
 * exited, reaped children used (cutime+cstime), summed over every live descendant. This is what a
 * browser costs on a shared machine — its GPU, renderer and utility processes included.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

interface ProcStat {
  readonly pid: number;
  readonly ppid: number;
  /** utime + stime + cutime + cstime, in clock ticks. */
  readonly ticks: number;
}

let clockTicks: number | null = null;

function ticksPerSecond(): number {
  if (clockTicks === null) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** Whether this machine has /proc (Linux): elsewhere CPU figures are reported as unavailable. */
export function canMeasureCpu(): boolean {
  return fs.existsSync('/proc/self/stat');
}

function readStat(pid: number): ProcStat | null {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null; // exited between the listing and the read
  }
  // The command name is in parentheses and may hold spaces or parentheses: fields follow the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // After the name: state(0) ppid(1) … utime(11) stime(12) cutime(13) cstime(14).
  const num = (i: number): number => Number(fields[i] ?? 0);
  return { pid, ppid: num(1), ticks: num(11) + num(12) + num(13) + num(14) };
}

function allStats(): ProcStat[] {
  const stats: ProcStat[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readStat(Number(name));
    if (stat !== null) stats.push(stat);
  }
  return stats;
}

/** CPU seconds used so far by each root's tree (the root and all its live descendants). */
export function treeCpuSeconds(roots: readonly number[]): Map<number, number> {
  const stats = allStats();
  const children = new Map<number, ProcStat[]>();
  for (const s of stats) children.set(s.ppid, [...(children.get(s.ppid) ?? []), s]);
  const byPid = new Map(stats.map((s) => [s.pid, s]));
  const out = new Map<number, number>();
  for (const root of roots) {
    let ticks = 0;
    const stack = byPid.has(root) ? [byPid.get(root) as ProcStat] : [];
    while (stack.length > 0) {
      const s = stack.pop() as ProcStat;
      ticks += s.ticks;
      stack.push(...(children.get(s.pid) ?? []));
    }
    out.set(root, ticks / ticksPerSecond());
  }
  return out;
}

/** The pids of this process's direct children (the browsers Playwright started, the coordinator). */
export function childPids(parent: number = process.pid): number[] {
  return allStats()
    .filter((s) => s.ppid === parent)
    .map((s) => s.pid);
}
