/**
 * The machine a benchmark runs on: its description, which cores each side gets, and how
 * much of the CPU other processes took during a measurement (the figures of a shared
 * machine must say so).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { availableParallelism, cpus, loadavg } from 'node:os';

export interface Machine {
  readonly cores: number;
  readonly cpuModel: string;
  readonly node: string;
  readonly kernel: string;
}

export function describeMachine(): Machine {
  let kernel: string;
  try {
    kernel = readFileSync('/proc/sys/kernel/osrelease', 'utf8').trim();
  } catch {
    kernel = process.platform;
  }
  return { cores: availableParallelism(), cpuModel: cpus()[0]?.model ?? 'unknown', node: process.version, kernel };
}

/** Cores for the load generator and for the server under test (the server gets the last one; the rest generate load). */
export function coreSplit(cores: number): { client: string; server: string } {
  if (cores < 2) return { client: '0', server: '0' };
  return { client: cores === 2 ? '0' : `0-${cores - 2}`, server: String(cores - 1) };
}

/** Busy and total jiffies of the whole machine. */
function machineTicks(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const values = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (values[3] ?? 0) + (values[4] ?? 0);
  const total = values.reduce((a, b) => a + b, 0);
  return { busy: total - idle, total };
}

/** User plus system jiffies of a process and its threads (0 once it is gone). */
function processTicks(pid: number): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return Number(fields[11]) + Number(fields[12]);
  } catch {
    return 0;
  }
}

/** The processes this one started (the control plane's parts among them). */
export function childPids(): number[] {
  try {
    return readdirSync(`/proc/${process.pid}/task`).flatMap((task) =>
      readFileSync(`/proc/${process.pid}/task/${task}/children`, 'utf8').trim().split(' ').filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/** CPU (in cores) that `pids` use together over the next `ms` milliseconds. */
export async function coresUsed(pids: readonly number[], ms: number): Promise<number> {
  const before = pids.map(processTicks);
  await new Promise((resolve) => setTimeout(resolve, ms));
  return pids.reduce((sum, pid, i) => sum + processTicks(pid) - (before[i] ?? 0), 0) / 100 / (ms / 1000);
}

export interface CpuWatch {
  /** Share of the whole machine's CPU (0-100) used by processes other than `pids`, and the 1-minute load average. */
  stop(): { otherPercent: number; load1: number };
}

/** Starts accounting CPU time; `pids` are the processes the measurement is about. */
export function watchCpu(pids: () => readonly number[]): CpuWatch {
  const start = machineTicks();
  const startOwn = new Map(pids().map((pid) => [pid, processTicks(pid)]));
  return {
    stop: () => {
      const end = machineTicks();
      let own = 0;
      for (const pid of pids()) own += processTicks(pid) - (startOwn.get(pid) ?? 0);
      const total = end.total - start.total;
      const other = Math.max(0, end.busy - start.busy - own);
      return { otherPercent: total > 0 ? (100 * other) / total : 0, load1: loadavg()[0] ?? 0 };
    },
  };
}

/** Resident set size in bytes (VmRSS), or 0 when the process is gone. */
export function rssBytes(pid: number): number {
  return statusBytes(pid, 'VmRSS');
}

/** The highest resident set size the process has had (VmHWM), or 0 when it is gone. */
export function peakRssBytes(pid: number): number {
  return statusBytes(pid, 'VmHWM');
}

function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** CPU seconds (user and system, all threads) a process has used; /proc counts in USER_HZ, 100 on Linux. */
export function cpuSeconds(pid: number): number {
  return processTicks(pid) / 100;
}
