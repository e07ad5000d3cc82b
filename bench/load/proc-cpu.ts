// CPU time of processes, from /proc/<pid>/stat (Linux): user + system time, in milliseconds.
// A load benchmark on one machine cannot trust wall-clock throughput alone (the load generator
// shares the cores), so it also charges each request the CPU the server processes spent on it.
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_SECOND = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

export interface ProcStat {
  pid: number;
  ppid: number;
  /** utime + stime of the process itself (all its threads), ms. */
  ownMs: number;
  /** cutime + cstime: children it has waited for (they exited), ms. */
  reapedChildrenMs: number;
  /** Start time in clock ticks since boot: with the pid, identifies the process (pids are reused). */
  startTicks: number;
}

export function procStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined; // gone
  }
  // The command name is in parentheses and may contain spaces: fields start after the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const n = (i: number) => Number(fields[i - 3]); // field i of proc(5), 1-based
  const ms = (ticks: number) => (ticks * 1000) / TICKS_PER_SECOND;
  return { pid, ppid: n(4), ownMs: ms(n(14) + n(15)), reapedChildrenMs: ms(n(16) + n(17)), startTicks: n(22) };
}

/** Every live process, by pid. */
export function allProcesses(): Map<number, ProcStat> {
  const out = new Map<number, ProcStat>();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = procStat(Number(name));
    if (stat) out.set(stat.pid, stat);
  }
  return out;
}

/** The process and all its descendants (node:cluster workers, child processes). */
export function processTree(root: number, procs = allProcesses()): ProcStat[] {
  const tree: ProcStat[] = [];
  const queue = [root];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    const stat = procs.get(pid);
    if (!stat) continue;
    tree.push(stat);
    for (const p of procs.values()) if (p.ppid === pid) queue.push(p.pid);
  }
  return tree;
}

/**
 * CPU of a process tree: own time of every live member, plus what the root has reaped from children
 * that exited (PostgreSQL's autovacuum workers come and go; the postmaster reaps them).
 */
export function treeCpuMs(root: number, procs = allProcesses()): number {
  const tree = processTree(root, procs);
  if (tree.length === 0) return 0;
  return tree.reduce((sum, p) => sum + p.ownMs, 0) + tree[0]!.reapedChildrenMs;
}

/** CPU of a given set of processes (own time only). */
export function pidsCpuMs(pids: Iterable<number>, procs = allProcesses()): number {
  let sum = 0;
  for (const pid of pids) sum += procs.get(pid)?.ownMs ?? 0;
  return sum;
}
