/**
 * One server measured with one query file: a warm-up, REPEATS saturated dnsperf runs (the
 * median by QPS is kept; a shared machine is noisy) and a run at a fixed rate for latency,
 * each with what else used the machine's CPU meanwhile.
 */
import { runDnsperf } from './dnsperf.ts';
import { watchCpu } from './machine.ts';
import type { Measured, QuerySetFigures } from './report.ts';
import type { RunningServer } from './servers.ts';

export const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
export const FIXED_RATE = 10_000;
/** Saturated runs per measurement; the one with the median QPS is reported. */
export const REPEATS = 3;

export async function measure(server: RunningServer, queryFile: string, cpus: string, threads: number, rate?: number): Promise<Measured> {
  let dnsperfPid = -1;
  const cpu = watchCpu(() => [server.pid, dnsperfPid]);
  const result = await runDnsperf({ server, queryFile, seconds: rate ? 10 : SECONDS, cpus, threads, ...(rate ? { rate } : {}), onStart: (pid) => { dnsperfPid = pid; } });
  return { ...result, ...cpu.stop() };
}

/** The median of `values` (the mean of the middle two for an even count); NaN for none. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length / 2;
  if (sorted.length === 0) return Number.NaN;
  return sorted.length % 2 === 1 ? sorted[Math.floor(middle)] ?? Number.NaN : ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

/** The run with the median QPS. */
export function medianRun(runs: readonly Measured[]): Measured {
  const sorted = [...runs].sort((a, b) => a.qps - b.qps);
  const median = sorted[Math.floor(sorted.length / 2)];
  if (!median) throw new Error('no dnsperf run');
  return median;
}

/** A few seconds of load that warm the server's caches and JIT, not measured. */
export async function warmUp(server: RunningServer, queryFile: string, cpus: string, threads = 1): Promise<void> {
  await runDnsperf({ server, queryFile, seconds: 3, cpus, threads });
}

export async function querySet(server: RunningServer, queryFile: string, cpus: string, say: (line: string) => void, threads = 1): Promise<QuerySetFigures> {
  await warmUp(server, queryFile, cpus, threads);
  const runs: Measured[] = [];
  for (let i = 0; i < REPEATS; i++) runs.push(await measure(server, queryFile, cpus, threads));
  const saturated = medianRun(runs);
  const fixed = await measure(server, queryFile, cpus, threads, FIXED_RATE);
  say(`${server.name}: ${Math.round(saturated.qps)} QPS saturated, p99 ${fixed.p99Ms.toFixed(2)} ms at ${FIXED_RATE} QPS`);
  return { saturated, fixed };
}
