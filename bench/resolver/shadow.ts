/**
 * `npm run bench:resolver -- --shadow`: what shadow comparison costs the resolver. The same
 * resolver on the same core, three of it side by side, measured in turns: without shadowing,
 * shadowing 1 % and 100 % of its answers to a baseline (a dnsmasq answering the same names from a hosts file, on the
 * client core, so that the baseline keeps up and every sampled query is really compared),
 * driven by dnsperf with the cluster names: QPS, p99 and memory, side by side, and the
 * "Shadowing" section of bench/RESULTS.md.
 */
import { rssBytes } from './machine.ts';
import type { Machine } from './machine.ts';
import { FIXED_RATE, measure, medianRun, REPEATS, SECONDS, warmUp } from './measure.ts';
import type { Measured, QuerySetFigures } from './report.ts';
import { startResolver } from './servers.ts';
import type { ResolverStart, RunningServer } from './servers.ts';
import { httpRequest } from '../../src/local/net.ts';
import { shadowSummarySchema } from '../../src/api/shadow-summary.ts';
import type { ShadowSummary } from '../../src/api/shadow-summary.ts';

export interface ShadowRun {
  readonly label: string;
  /** Percent shadowed; undefined: shadowing off. */
  readonly sample?: number;
  readonly cluster: QuerySetFigures;
  readonly rssAfterSync: number;
  readonly rssAfterLoad: number;
  readonly summary?: ShadowSummary;
}

export interface ShadowBenchInput {
  readonly resolver: Omit<ResolverStart, 'name' | 'config'>;
  readonly baseline: RunningServer;
  readonly clusterQueries: string;
  readonly clientCpus: string;
  readonly say: (line: string) => void;
  readonly settle: () => Promise<void>;
}

export const SHADOW_SAMPLES: ReadonlyArray<number | undefined> = [undefined, 1, 100];

/**
 * The three resolvers run side by side (only the one under load is busy) and are measured in
 * turns, run i of each before run i+1 of any: on a shared machine whose load drifts, the
 * drift then falls on all three alike instead of on whichever came last.
 */
export async function runShadowBench(input: ShadowBenchInput): Promise<ShadowRun[]> {
  const servers: Array<{ label: string; sample: number | undefined; server: RunningServer }> = [];
  try {
    for (const sample of SHADOW_SAMPLES) {
      const label = sample === undefined ? 'without shadowing' : `shadowing ${sample} %`;
      const shadow = sample === undefined ? {} : { shadow: { baseline: `${input.baseline.host}:${input.baseline.port}`, sample, maxInFlight: 1000 } };
      const server = await startResolver({ ...input.resolver, name: `shadow-${sample ?? 0}`, config: shadow });
      servers.push({ label, sample, server: { ...server, name: `resolver ${label}` } });
    }
    await input.settle();
    const rssAfterSync = servers.map(({ server }) => rssBytes(server.pid));
    for (const { server } of servers) await warmUp(server, input.clusterQueries, input.clientCpus);
    const saturated: Measured[][] = servers.map(() => []);
    for (let i = 0; i < REPEATS; i++) {
      for (const [j, { server }] of servers.entries()) saturated[j]?.push(await measure(server, input.clusterQueries, input.clientCpus, 1));
    }
    const runs: ShadowRun[] = [];
    for (const [j, { label, sample, server }] of servers.entries()) {
      const fixed = await measure(server, input.clusterQueries, input.clientCpus, 1, FIXED_RATE);
      const cluster = { saturated: medianRun(saturated[j] ?? []), fixed };
      input.say(`${label}: ${Math.round(cluster.saturated.qps)} QPS saturated, p99 ${fixed.p99Ms.toFixed(2)} ms at ${FIXED_RATE} QPS`);
      const summary = sample === undefined ? undefined : await shadowSummary(server);
      if (summary) input.say(`${label}: ${summary.compared} compared, ${summary.skipped} skipped, errors ${JSON.stringify(summary.errors)}, mismatches ${JSON.stringify(summary.mismatches)}`);
      runs.push({ label, ...(sample === undefined ? {} : { sample }), cluster, rssAfterSync: rssAfterSync[j] ?? 0, rssAfterLoad: rssBytes(server.pid), ...(summary ? { summary } : {}) });
    }
    return runs;
  } finally {
    for (const { server } of servers) await server.stop();
  }
}

async function shadowSummary(server: RunningServer): Promise<ShadowSummary> {
  const response = await httpRequest({ url: `${server.healthUrl ?? ''}/shadow` });
  return shadowSummarySchema.parse(JSON.parse(response.body));
}

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const mb = (bytes: number): string => fmt(bytes / 2 ** 20, 0);
const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fmt(a / b, 2)}x` : '');

export function shadowTable(runs: readonly ShadowRun[]): string {
  const [off, ...on] = runs;
  if (!off) return '';
  const header = ['', ...runs.map((r) => r.label), ...on.map((r) => `${r.label} / without`)];
  const rows: Array<[string, (r: ShadowRun) => number, (v: number) => string]> = [
    ['cluster names: QPS (saturated)', (r) => r.cluster.saturated.qps, (v) => fmt(v)],
    ['cluster names: p99 ms (saturated)', (r) => r.cluster.saturated.p99Ms, (v) => fmt(v, 2)],
    [`cluster names: p99 ms at ${fmt(FIXED_RATE)} QPS`, (r) => r.cluster.fixed.p99Ms, (v) => fmt(v, 2)],
    ['RSS after sync (MiB)', (r) => r.rssAfterSync, mb],
    ['RSS after the load (MiB)', (r) => r.rssAfterLoad, mb],
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const [label, pick, show] of rows) lines.push(`| ${[label, ...runs.map((r) => show(pick(r))), ...on.map((r) => ratio(pick(r), pick(off)))].join(' | ')} |`);
  lines.push(`| shadow queries compared / skipped | ${runs.map((r) => (r.summary ? `${fmt(r.summary.compared)} / ${fmt(r.summary.skipped)}` : '-')).join(' | ')} |${on.map(() => ' |').join('')}`);
  return lines.join('\n');
}

export function shadowSection(runs: readonly ShadowRun[], machine: Machine, cores: { client: string; server: string }, services: number, date: string): string {
  return [
    '## Shadowing',
    '',
    `Command: \`${services === 10_000 ? '' : `BENCH_SERVICES=${services} `}npm run bench:resolver -- --shadow\` (${date}).`,
    `Machine: ${machine.cores} cores, ${machine.cpuModel}, Linux ${machine.kernel}, Node.js ${machine.node}.`,
    `The resolver (one serving thread's core: ${cores.server}) without shadowing and shadowing 1 % and 100 % of its answers, running side by side and measured in turns (run i of each before run i+1 of any), with ${services === 10_000 ? 'the 10,000-Service cluster of the Resolver section' : `a cluster of ${fmt(services)} Services (5 endpoints each)`}; the baseline is a dnsmasq with the same names on dnsperf's core (${cores.client}). Saturated: median of ${REPEATS} dnsperf runs of ${SECONDS} s (4 clients, 500 outstanding); p99 also at ${fmt(FIXED_RATE)} QPS for 10 s.`,
    '',
    shadowTable(runs),
    '',
    `Other CPU on the machine during the saturated runs: ${runs.map((r) => `${r.label} ${fmt(r.cluster.saturated.otherPercent)}%`).join(', ')} (the machine is shared: same-run ratios, provisional).`,
  ].join('\n');
}
