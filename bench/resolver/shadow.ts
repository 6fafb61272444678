/**
 * `npm run bench:resolver -- --shadow`: what shadow comparison costs the resolver. The same
 * resolver on the same core, three of it side by side: without shadowing, shadowing 1 % and
 * 100 % of its answers to a baseline (a dnsmasq answering the same names from a hosts file, on
 * the client core, so that the baseline keeps up and every sampled query is really compared),
 * driven by dnsperf with the cluster names: QPS, the resolver's CPU per answer, p99 and memory,
 * side by side, and the "Shadowing" section of bench/RESULTS.md.
 *
 * Each resolver runs within the Deployment's default memory limit (a memory cgroup, where
 * the machine lets us make one), as its pod would: Node.js sizes its heap from that limit,
 * so RSS without one says little about what the pod would use.
 */
import { milliValue } from '../../src/controller/nodes.ts';
import { DEFAULT_RESOURCES } from '../../src/controller/memory-sizing.ts';
import { cpuSeconds, peakRssBytes, rssBytes } from './machine.ts';
import type { Machine } from './machine.ts';
import { createMemoryLimit } from '../../test/support/memory-limit.ts';
import type { MemoryLimit } from '../../test/support/memory-limit.ts';
import { FIXED_RATE, measure, median, medianRun, SECONDS, warmUp } from './measure.ts';
import type { Measured } from './report.ts';
import { startResolver } from './servers.ts';
import type { ResolverStart, RunningServer } from './servers.ts';
import { httpRequest } from '../../src/local/net.ts';
import { shadowSummarySchema } from '../../src/api/shadow-summary.ts';
import type { ShadowSummary } from '../../src/api/shadow-summary.ts';

/** One saturated dnsperf run, with the resolver's own CPU per answer meanwhile. */
export interface SaturatedRun extends Measured {
  readonly cpuMicrosPerAnswer: number;
}

export interface ShadowRun {
  readonly label: string;
  /** Percent shadowed; undefined: shadowing off. */
  readonly sample?: number;
  /** The saturated runs, one per round (each of a fresh process), in round order. */
  readonly rounds: readonly SaturatedRun[];
  /** At a fixed rate, in the last round. */
  readonly fixed: Measured;
  /** Medians over the rounds' processes. */
  readonly rssAfterSync: number;
  readonly rssAfterLoad: number;
  /** The highest of any round's process. */
  readonly peakRss: number;
  /** The memory cgroup every round's process ran in, if the machine allowed one. */
  readonly memory?: { readonly limitBytes: number; readonly peakBytes: number; readonly oomKills: number };
  /** Shadow counts, all rounds together. */
  readonly shadow?: { readonly compared: number; readonly skipped: number; readonly errors: number; readonly unexpected: number; readonly intended: number };
}

export interface ShadowBenchInput {
  readonly resolver: Omit<ResolverStart, 'name' | 'config'>;
  readonly baseline: RunningServer;
  readonly clusterQueries: string;
  readonly clientCpus: string;
  readonly say: (line: string) => void;
  readonly settle: () => Promise<void>;
}

interface Variant {
  readonly label: string;
  /** Names its files and cgroup. */
  readonly name: string;
  /** Percent shadowed; undefined: shadowing off. */
  readonly sample?: number;
}

/**
 * Two resolvers without shadowing: identical processes differ by a few percent (where their
 * heaps and code land), so the second one gives that spread, and the per-round mean of both
 * is what shadowing is held against.
 */
export const VARIANTS: readonly Variant[] = [
  { label: 'without shadowing', name: 'off' },
  { label: 'shadowing 1 %', name: '1', sample: 1 },
  { label: 'shadowing 100 %', name: '100', sample: 100 },
  { label: 'without shadowing, a second process', name: 'off-2' },
];
/** Rounds, each with fresh processes of every variant. */
export const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 6);
const MEMORY_LIMIT = milliValue(DEFAULT_RESOURCES.limits.memory) / 1000;

/** One variant's process in one round. */
interface RoundResult {
  readonly run: SaturatedRun;
  readonly rssAfterSync: number;
  readonly rssAfterLoad: number;
  readonly peakRss: number;
  readonly summary?: ShadowSummary;
  readonly fixed?: Measured;
}

/**
 * The process is what varies most: two identical resolver processes on the same core differ
 * by 5 to 10 % in QPS and in CPU per answer for as long as they live (where their heap and
 * code land). So every round starts a fresh process of each variant, side by side (only the
 * one under load is busy), measures each once, in ABCD order and then DCBA (drift in the
 * machine's load falls on all alike), and stops them; a ratio is the median over rounds of
 * same-round ratios. The resolver's CPU per answer is the steadier figure: on a saturated
 * core, time the machine takes from it (interrupts, a neighbour) lowers its QPS, not its CPU
 * per answer. The second variant without shadowing shows what is left of the spread.
 */
export async function runShadowBench(input: ShadowBenchInput): Promise<ShadowRun[]> {
  // One cgroup per variant for every round: its peak and its OOM kills then cover them all.
  const limits = VARIANTS.map((variant) => createMemoryLimit(`clusterdns-bench-shadow-${variant.name}-${process.pid}`, MEMORY_LIMIT));
  try {
    input.say(limits.every((limit) => limit) ? `each resolver in a memory cgroup limited to ${MEMORY_LIMIT / 2 ** 20} MiB (the Deployment's default)` : 'no memory cgroup could be made (not root?): RSS without a limit only');
    const results: RoundResult[][] = VARIANTS.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      const outcome = await oneRound(input, limits, round, round === ROUNDS - 1);
      outcome.forEach((result, j) => { results[j]?.push(result); });
      input.say(`round ${round + 1}: ${outcome.map((r, j) => `${VARIANTS[j]?.label ?? ''} ${Math.round(r.run.qps)} QPS ${r.run.cpuMicrosPerAnswer.toFixed(1)} µs`).join(', ')}`);
    }
    return VARIANTS.map((variant, j) => shadowRun(variant, results[j] ?? [], limits[j]));
  } finally {
    for (const limit of limits) limit?.remove();
  }
}

async function oneRound(input: ShadowBenchInput, limits: ReadonlyArray<MemoryLimit | undefined>, round: number, withLatency: boolean): Promise<RoundResult[]> {
  const servers: RunningServer[] = [];
  try {
    for (const [j, variant] of VARIANTS.entries()) servers.push(await startShadowResolver(input, variant, limits[j]));
    await input.settle();
    const rssAfterSync = servers.map((server) => rssBytes(server.pid));
    for (const server of servers) await warmUp(server, input.clusterQueries, input.clientCpus);
    const runs = new Map<number, SaturatedRun>();
    const order = round % 2 === 0 ? [...servers.keys()] : [...servers.keys()].reverse();
    for (const j of order) {
      const server = servers[j];
      if (server) runs.set(j, await saturatedRun(server, input.clusterQueries, input.clientCpus));
    }
    const results: RoundResult[] = [];
    for (const [j, server] of servers.entries()) {
      const run = runs.get(j);
      if (!run) throw new Error(`no run of ${server.name}`);
      const fixed = withLatency ? await measure(server, input.clusterQueries, input.clientCpus, 1, FIXED_RATE) : undefined;
      const summary = VARIANTS[j]?.sample === undefined ? undefined : await shadowSummary(server);
      results.push({ run, rssAfterSync: rssAfterSync[j] ?? 0, rssAfterLoad: rssBytes(server.pid), peakRss: peakRssBytes(server.pid), ...(summary ? { summary } : {}), ...(fixed ? { fixed } : {}) });
    }
    return results;
  } finally {
    for (const server of servers) await server.stop();
  }
}

async function startShadowResolver(input: ShadowBenchInput, { label, name, sample }: Variant, memory: MemoryLimit | undefined): Promise<RunningServer> {
  const shadow = sample === undefined ? {} : { shadow: { baseline: `${input.baseline.host}:${input.baseline.port}`, sample, maxInFlight: 1000 } };
  const server = await startResolver({ ...input.resolver, name: `shadow-${name}`, config: shadow, ...(memory ? { cgroupProcs: memory.procsFile } : {}) });
  return { ...server, name: `resolver ${label}` };
}

function shadowRun({ label, sample }: Variant, results: readonly RoundResult[], memory: MemoryLimit | undefined): ShadowRun {
  const fixed = results.find((r) => r.fixed)?.fixed;
  if (!fixed) throw new Error(`${label}: no run at a fixed rate`);
  const summaries = results.flatMap((r) => (r.summary ? [r.summary] : []));
  const total = (pick: (s: ShadowSummary) => number): number => summaries.reduce((sum, s) => sum + pick(s), 0);
  return {
    label, ...(sample === undefined ? {} : { sample }), rounds: results.map((r) => r.run), fixed,
    rssAfterSync: median(results.map((r) => r.rssAfterSync)), rssAfterLoad: median(results.map((r) => r.rssAfterLoad)),
    peakRss: Math.max(...results.map((r) => r.peakRss)),
    ...(memory ? { memory: { limitBytes: memory.limitBytes, peakBytes: memory.peakBytes(), oomKills: memory.oomKills() } } : {}),
    ...(summaries.length > 0 ? {
      shadow: {
        compared: total((s) => s.compared), skipped: total((s) => s.skipped),
        errors: total((s) => s.errors.timeout + s.errors.unreachable + s.errors.malformed),
        unexpected: total((s) => s.mismatches.rcode + s.mismatches.answer), intended: total((s) => s.mismatches.intended),
      },
    } : {}),
  };
}

async function saturatedRun(server: RunningServer, queries: string, cpus: string): Promise<SaturatedRun> {
  const before = cpuSeconds(server.pid);
  const run = await measure(server, queries, cpus, 1);
  return { ...run, cpuMicrosPerAnswer: run.completed > 0 ? ((cpuSeconds(server.pid) - before) * 1e6) / run.completed : Number.NaN };
}

async function shadowSummary(server: RunningServer): Promise<ShadowSummary> {
  const response = await httpRequest({ url: `${server.healthUrl ?? ''}/shadow` });
  return shadowSummarySchema.parse(JSON.parse(response.body));
}

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const mb = (bytes: number): string => fmt(bytes / 2 ** 20, 0);
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fmt(a / b, 2)}x` : '');

/** The median over rounds of `run`'s figure divided by the same round's mean over `references`. */
function roundRatio(run: ShadowRun, references: readonly ShadowRun[], pick: (r: SaturatedRun) => number): number {
  return median(run.rounds.map((r, i) => {
    const same = references.map((reference) => reference.rounds[i]).filter((x) => x !== undefined);
    return same.length === references.length ? pick(r) / (same.reduce((sum, x) => sum + pick(x), 0) / same.length) : Number.NaN;
  }));
}

export function shadowTable(runs: readonly ShadowRun[]): string {
  const without = runs.filter((r) => r.sample === undefined);
  const shadowed = runs.filter((r) => r.sample !== undefined);
  const [first, second] = without;
  if (!first) return '';
  const header = ['', ...runs.map((r) => r.label), ...shadowed.map((r) => `${r.label} / without`), ...(second ? ['second / first without'] : [])];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  const row = (label: string, values: readonly string[], ratios: readonly string[] = []): void => { lines.push(`| ${[label, ...values, ...ratios].join(' | ')} |`); };
  const mean = (values: readonly number[]): number => values.reduce((a, b) => a + b, 0) / values.length;
  const plain = (label: string, pick: (r: ShadowRun) => number, show: (v: number) => string): void => {
    const reference = mean(without.map(pick));
    row(label, runs.map((r) => show(pick(r))), [...shadowed.map((r) => ratio(pick(r), reference)), ...(second ? [ratio(pick(second), pick(first))] : [])]);
  };
  const perRound = (label: string, pick: (r: SaturatedRun) => number, show: (v: number) => string): void => {
    const ratios = [...shadowed.map((r) => roundRatio(r, without, pick)), ...(second ? [roundRatio(second, [first], pick)] : [])];
    row(label, runs.map((r) => show(median(r.rounds.map(pick)))), ratios.map((v) => `${fmt(v, 3)}x`));
  };
  row('cluster names: QPS per round (saturated)', runs.map((r) => r.rounds.map((x) => fmt(x.qps)).join(', ')));
  perRound('cluster names: QPS, median', (r) => r.qps, (v) => fmt(v));
  perRound('resolver CPU per answer (µs), median', (r) => r.cpuMicrosPerAnswer, (v) => fmt(v, 1));
  plain('cluster names: p99 ms (saturated, median run)', (r) => medianRun(r.rounds).p99Ms, (v) => fmt(v, 2));
  plain(`cluster names: p99 ms at ${fmt(FIXED_RATE)} QPS`, (r) => r.fixed.p99Ms, (v) => fmt(v, 2));
  plain('RSS after sync (MiB, median)', (r) => r.rssAfterSync, mb);
  plain('RSS after the load (MiB, median)', (r) => r.rssAfterLoad, mb);
  plain('peak RSS (MiB, highest)', (r) => r.peakRss, mb);
  if (runs.every((r) => r.memory)) row('memory cgroup: peak charged (MiB) / OOM kills', runs.map((r) => `${mb(r.memory?.peakBytes ?? 0)} / ${r.memory?.oomKills ?? 0}`));
  row('shadow queries compared / skipped / errors', runs.map((r) => (r.shadow ? `${fmt(r.shadow.compared)} / ${fmt(r.shadow.skipped)} / ${fmt(r.shadow.errors)}` : '-')));
  row('mismatches: unexpected / intended', runs.map((r) => (r.shadow ? `${fmt(r.shadow.unexpected)} / ${fmt(r.shadow.intended)}` : '-')));
  return lines.join('\n');
}

export function shadowSection(runs: readonly ShadowRun[], machine: Machine, cores: { client: string; server: string }, services: number, date: string): string {
  const others = runs.map((r) => `${r.label} ${fmt(median(r.rounds.map((x) => x.otherPercent)))}%`).join(', ');
  const limit = runs[0]?.memory;
  return [
    '## Shadowing',
    '',
    `Command: \`${services === 10_000 ? '' : `BENCH_SERVICES=${services} `}npm run bench:resolver -- --shadow\` (${date}).`,
    `Machine: ${machine.cores} cores, ${machine.cpuModel}, Linux ${machine.kernel}, Node.js ${machine.node}.`,
    `The resolver (one serving thread's core: ${cores.server}) without shadowing (two processes), shadowing 1 % and 100 % of its answers, running side by side, a fresh process of each in every round${limit ? `, each in a memory cgroup limited to ${mb(limit.limitBytes)} MiB (the Deployment's default limit)` : ' (no memory limit: not run as root)'}, with ${services === 10_000 ? 'the 10,000-Service cluster of the Resolver section' : `a cluster of ${fmt(services)} Services (5 endpoints each)`}; the baseline is a dnsmasq with the same names on dnsperf's core (${cores.client}). Saturated: ${ROUNDS} rounds of one dnsperf run of ${SECONDS} s of each process (4 clients, 500 outstanding), in ABCD order then DCBA; a ratio "/ without" is the median over rounds of the figure over the same round's mean of both processes without shadowing, and "second / first without" shows how far two identical processes differ. CPU per answer: the resolver's user and system time during a run over the answers dnsperf received. p99 also at ${fmt(FIXED_RATE)} QPS for 10 s, in the last round.`,
    '',
    shadowTable(runs),
    '',
    `Other CPU on the machine during the saturated runs (median): ${others} (interrupts and softirqs of the loopback traffic count here too).`,
  ].join('\n');
}
