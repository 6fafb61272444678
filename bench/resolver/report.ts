/**
 * The benchmark's report: a side-by-side table for the terminal and the "Resolver" section
 * of bench/RESULTS.md (replaced between its markers, other sections left alone). Pure
 * apart from writing the file.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { CodecResult } from './codec.ts';
import type { DnsperfResult } from './dnsperf.ts';
import type { Machine } from './machine.ts';
import type { PropagationResult } from './propagation.ts';

export interface Measured extends DnsperfResult {
  /** Share of the machine's CPU that other processes used meanwhile (%). */
  readonly otherPercent: number;
  readonly load1: number;
}

export interface QuerySetFigures {
  readonly saturated: Measured;
  readonly fixed: Measured;
}

export interface ServerFigures {
  readonly name: string;
  readonly readyMs: number;
  readonly rssAfterSync: number;
  readonly rssAfterLoad: number;
  readonly cluster: QuerySetFigures;
  readonly external: QuerySetFigures;
  readonly propagation?: PropagationResult;
}

/** A server given every core (dnsperf shares them): what extra serving threads buy. */
export interface AllCoresFigures {
  readonly name: string;
  readonly threads: string;
  readonly rssAfterSync: number;
  readonly rssAfterLoad: number;
  readonly cluster: QuerySetFigures;
}

export interface Report {
  readonly date: string;
  readonly command: string;
  readonly machine: Machine;
  readonly cores: { readonly client: string; readonly server: string };
  readonly shape: string;
  readonly fixedRate: number;
  readonly seconds: number;
  readonly servers: readonly ServerFigures[];
  readonly allCores: readonly AllCoresFigures[];
  readonly codec: CodecResult;
  readonly notes: readonly string[];
}

export const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const mb = (bytes: number): string => fmt(bytes / 2 ** 20, 0);
const ms = (value: number): string => fmt(value, 2);
export const ratio = (a: number, b: number): string => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${fmt(a / b, 2)}x` : '');

type Row = [label: string, values: string[], ratios: string[]];

function row(label: string, servers: readonly ServerFigures[], pick: (s: ServerFigures) => number, show: (v: number) => string): Row {
  const values = servers.map(pick);
  const [ours = NaN, ...others] = values;
  return [label, values.map(show), others.map((other) => ratio(ours, other))];
}

function pairRow(label: string, servers: readonly ServerFigures[], a: (s: ServerFigures) => number, b: (s: ServerFigures) => number): Row {
  const [first, ...others] = servers;
  const ours = first ? a(first) : NaN;
  const oursB = first ? b(first) : NaN;
  return [
    label,
    servers.map((s) => `${ms(a(s))} / ${ms(b(s))}`),
    others.map((o) => `${ratio(ours, a(o))} / ${ratio(oursB, b(o))}`),
  ];
}

export function tableRows(report: Report): Row[] {
  const s = report.servers;
  const rows: Row[] = [];
  for (const [set, title] of [['cluster', 'cluster names'], ['external', 'cached external names']] as const) {
    rows.push(row(`${title}: QPS (saturated)`, s, (x) => x[set].saturated.qps, (v) => fmt(v)));
    rows.push(pairRow(`${title}: mean / p99 ms (saturated)`, s, (x) => x[set].saturated.meanMs, (x) => x[set].saturated.p99Ms));
    rows.push(pairRow(`${title}: mean / p99 ms at ${fmt(report.fixedRate)} QPS`, s, (x) => x[set].fixed.meanMs, (x) => x[set].fixed.p99Ms));
  }
  rows.push(row('RSS after sync (MiB)', s, (x) => x.rssAfterSync, mb));
  rows.push(row('RSS after the load (MiB)', s, (x) => x.rssAfterLoad, mb));
  rows.push(row('start until answering (s)', s, (x) => x.readyMs, (v) => fmt(v / 1000, 1)));
  rows.push(pairRow('propagation p50 / p99 ms', s, (x) => x.propagation?.p50Ms ?? NaN, (x) => x.propagation?.p99Ms ?? NaN));
  return rows;
}

export function markdownTable(report: Report): string {
  const names = report.servers.map((s) => s.name);
  const [ours = '', ...others] = names;
  const header = ['', ...names, ...others.map((o) => `${ours} / ${o}`)];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  for (const [label, values, ratios] of tableRows(report)) lines.push(`| ${[label, ...values, ...ratios].join(' | ')} |`);
  return lines.join('\n');
}

function loadLines(report: Report): string[] {
  const lines: string[] = [];
  for (const server of report.servers) {
    for (const set of ['cluster', 'external'] as const) {
      for (const kind of ['saturated', 'fixed'] as const) {
        const m = server[set][kind];
        const errors = Object.entries(m.rcodes).filter(([rcode]) => rcode !== 'NOERROR').map(([rcode, n]) => `${rcode} ${n}`).join(', ');
        lines.push(`| ${server.name} | ${set} | ${kind} | ${fmt(m.otherPercent, 0)}% | ${fmt(m.load1, 2)} | ${fmt(m.lost)} | ${errors || '-'} |`);
      }
    }
  }
  return lines;
}

export function allCoresTable(report: Report): string {
  const [ours, ...others] = report.allCores;
  if (!ours) return '';
  const header = ['', ...report.allCores.map((s) => s.name), ...others.map((o) => `${ours.name} / ${o.name}`)];
  const rows: Array<[string, (s: AllCoresFigures) => number, (v: number) => string]> = [
    ['cluster names: QPS (saturated)', (s) => s.cluster.saturated.qps, (v) => fmt(v)],
    ['cluster names: p99 ms (saturated)', (s) => s.cluster.saturated.p99Ms, ms],
    [`cluster names: p99 ms at ${fmt(report.fixedRate)} QPS`, (s) => s.cluster.fixed.p99Ms, ms],
    ['RSS after sync (MiB)', (s) => s.rssAfterSync, mb],
    ['RSS after the load (MiB)', (s) => s.rssAfterLoad, mb],
  ];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`];
  lines.push(`| serving threads | ${report.allCores.map((s) => s.threads).join(' | ')} |${others.map(() => ' |').join('')}`);
  for (const [label, pick, show] of rows) {
    lines.push(`| ${[label, ...report.allCores.map((s) => show(pick(s))), ...others.map((o) => ratio(pick(ours), pick(o)))].join(' | ')} |`);
  }
  return lines.join('\n');
}

export function markdownSection(report: Report): string {
  const m = report.machine;
  return [
    '## Resolver',
    '',
    `Command: \`${report.command}\` (${report.date}).`,
    `Machine: ${m.cores} cores, ${m.cpuModel}, Linux ${m.kernel}, Node.js ${m.node}.`,
    `Each server is pinned to core(s) ${report.cores.server}; dnsperf runs on core(s) ${report.cores.client}. ${report.shape}`,
    `Saturated: dnsperf with 4 clients and 500 queries outstanding; at ${fmt(report.fixedRate)} QPS: dnsperf holding that rate for 10 s. Latency percentiles from dnsperf's per-query output (-v).`,
    '',
    markdownTable(report),
    '',
    ...(report.allCores.length > 0 ? [
      `Every core (${report.machine.cores}) for the server, shared with dnsperf: the resolver with \`threads: auto\` (one serving thread per core, one watch) against CoreDNS with GOMAXPROCS = ${report.machine.cores}:`,
      '',
      allCoresTable(report),
      '',
    ] : []),
    `Hot-path wire codec (decode a query, encode a one-record answer): hand-written ${fmt(report.codec.handNs)} ns, dns-packet ${fmt(report.codec.dnsPacketNs)} ns (${ratio(report.codec.dnsPacketNs, report.codec.handNs)} faster by hand).`,
    '',
    'What else ran on the machine during each measurement (CPU of processes other than the server and dnsperf, as a share of all cores; 1-minute load average at the end; dnsperf\'s lost queries; answers other than NOERROR):',
    '',
    '| server | names | run | other CPU | load | lost | other rcodes |',
    '|---|---|---|---|---|---|---|',
    ...loadLines(report),
    '',
    ...report.notes.map((n) => `- ${n}`),
  ].join('\n');
}

/** Replaces (or appends) a section of the results file, between its markers (`resolver`: the Resolver section). */
export function writeResults(file: string, section: string, marker = 'resolver'): void {
  const BEGIN = `<!-- ${marker} benchmark: begin -->`;
  const END = `<!-- ${marker} benchmark: end -->`;
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '# Benchmark results\n';
  const block = `${BEGIN}\n${section}\n${END}`;
  const start = current.indexOf(BEGIN);
  const end = current.indexOf(END);
  const next = start >= 0 && end > start ? current.slice(0, start) + block + current.slice(end + END.length) : `${current.trimEnd()}\n\n${block}\n`;
  writeFileSync(file, next);
}
