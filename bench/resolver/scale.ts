/**
 * `npm run bench:resolver -- --services N`: the resolver against CoreDNS at cluster scale.
 *
 * N Services in N/100 namespaces, 5 endpoints each, seeded into etcd (seed.ts). For each server, one run: start until
 * answering (process start until /ready and a correct answer, so from a synced index), RSS
 * 5 s after that with 1, 2 and 4 serving threads (CoreDNS: GOMAXPROCS 1, 2, 4), the
 * saturated cluster-name QPS on one core and the propagation latency of new Services.
 * Prints a side-by-side table and writes its section of bench/RESULTS.md (one per N).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseClusterDNS } from '../../src/api/clusterdns.ts';
import { API_VERSION, KIND } from '../../src/api/names.ts';
import { countCluster } from '../../src/controller/cluster-count.ts';
import { podResources } from '../../src/controller/memory-sizing.ts';
import type { ClusterContents } from '../../src/controller/memory-sizing.ts';
import { NEWEST_COREDNS } from '../../src/coredns/releases.ts';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { ensureBinaries } from '../../src/local/binaries.ts';
import { httpRequest } from '../../src/local/net.ts';
import { NAMESPACE_PREFIX } from './cluster-load.ts';
import type { LoadShape } from './cluster-load.ts';
import { build, cleanups, jsonKubeconfig, queryFiles, ROOT, say, startPlane } from './harness.ts';
import { coreSplit, describeMachine, rssBytes } from './machine.ts';
import { measure, SECONDS, warmUp } from './measure.ts';
import { measurePropagation } from './propagation.ts';
import { seedLoad } from './seed.ts';
import type { PropagationResult } from './propagation.ts';
import { fmt, ratio, writeResults } from './report.ts';
import type { Measured } from './report.ts';
import { createMemoryLimit } from '../../test/support/memory-limit.ts';
import { startCoredns, startDnsmasq, startResolver } from './servers.ts';
import type { RunningServer } from './servers.ts';

const THREADS = [1, 2, 4] as const;
const PROPAGATION_SAMPLES = Number(process.env['BENCH_PROPAGATION_SAMPLES'] ?? 50);
const SETTLE_MS = 5000;

/** A run within a memory limit, with the default thread count. */
export interface Limited {
  readonly limitBytes: number;
  /** Until answering; undefined when it never answered. */
  readonly startMs: number | undefined;
  /** Serving threads it runs (the resolver's gauge); undefined for CoreDNS. */
  readonly threads: number | undefined;
  readonly peakBytes: number;
  readonly oomKills: number;
}

export interface Side {
  readonly startMs: Map<number, number>;
  readonly rss: Map<number, number>;
  /** RSS right after a saturating run (1 and 4 threads): what a thread costs under load. */
  readonly loadedRss?: Map<number, number>;
  qps?: Measured;
  propagation?: PropagationResult;
  limited?: Limited;
  /** In the limit the operator gives the engine for this cluster without spec.resources (memory-sizing.ts). */
  sized?: Limited;
}

const newSide = (): Side => ({ startMs: new Map(), rss: new Map(), loadedRss: new Map() });
/** The thread counts whose RSS is also read under load. */
const LOADED = [1, 4] as const;

/** The memory limit of our Deployment and of kubeadm's CoreDNS Deployment. */
export const DEFAULT_LIMIT_BYTES = 170 * 2 ** 20;

export function scaleShape(services: number): LoadShape {
  return { services, namespaces: Math.max(1, Math.round(services / 100)), endpointsPerService: 5 };
}

export async function runScale(count: number): Promise<void> {
  const machine = describeMachine();
  const cores = coreSplit(machine.cores);
  const everyCore = machine.cores > 1 ? `0-${machine.cores - 1}` : '0';
  const shape = scaleShape(count);
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-bench-'));
  cleanups.push(() => { rmSync(dir, { recursive: true, force: true }); });
  say(`${machine.cores} cores (${machine.cpuModel}), Node.js ${machine.node}; scale mode: ${shape.services} Services in ${shape.namespaces} namespaces`);
  const main = build(dir);
  const binaries = await ensureBinaries(['coredns'], say);
  const plane = await startPlane();
  cleanups.push(() => plane.stop());
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  const began = Date.now();
  const services = await seedLoad(client, plane.etcdUrl, shape, say);
  const createSeconds = (Date.now() - began) / 1000;
  say(`seeded in ${createSeconds.toFixed(1)} s (${Math.round((2 * shape.services) / createSeconds)} objects/s)`);
  const files = queryFiles(dir, services);
  const probe = `svc-0.${NAMESPACE_PREFIX}0.svc.cluster.local`;
  const common = { dir, log: say, kubeconfig: jsonKubeconfig(plane.kubeconfigPath, dir), probe };
  const upstream = await startDnsmasq({ dir, log: say, cpus: cores.client, name: 'upstream-dnsmasq', hostsFile: files.externalHosts, probe: 'ext-0.bench.test', localTtl: 300 });
  cleanups.push(() => upstream.stop());
  const upstreamAddress = `127.0.0.1:${upstream.port}`;
  const ours = newSide();
  const theirs = newSide();
  const start = (threads: number, which: 'ours' | 'theirs'): Promise<RunningServer> => {
    const cpus = threads === 1 ? cores.server : everyCore;
    return which === 'ours'
      ? startResolver({ ...common, cpus, main, upstream: upstreamAddress, name: `t${threads}`, config: { threads } })
      : startCoredns({ ...common, cpus, binary: binaries.coredns, upstream: upstreamAddress, gomaxprocs: threads });
  };
  for (const threads of THREADS) {
    // One server at a time: the other's start-up would take CPU from this one's.
    const pair: RunningServer[] = [];
    for (const [which, side] of [['ours', ours], ['theirs', theirs]] as const) {
      const server = await start(threads, which);
      cleanups.push(() => server.stop());
      pair.push(server);
      side.startMs.set(threads, server.readyMs);
      await sleep(SETTLE_MS);
      side.rss.set(threads, rssBytes(server.pid));
      say(`${server.name}, ${threads} thread(s): answering after ${(server.readyMs / 1000).toFixed(1)} s, RSS ${(rssBytes(server.pid) / 2 ** 20).toFixed(0)} MiB`);
      if (threads === 4) {
        await warmUp(server, files.cluster, cores.client, 2);
        await measure(server, files.cluster, cores.client, 2);
        side.loadedRss?.set(threads, rssBytes(server.pid));
        say(`${server.name}, ${threads} thread(s): RSS ${(rssBytes(server.pid) / 2 ** 20).toFixed(0)} MiB after a saturating run`);
      }
      if (threads > 1) await server.stop();
    }
    if (threads !== 1) continue;
    for (const [i, side] of [ours, theirs].entries()) {
      const server = pair[i];
      if (!server) continue;
      await warmUp(server, files.cluster, cores.client);
      side.qps = await measure(server, files.cluster, cores.client, 1);
      side.loadedRss?.set(1, rssBytes(server.pid));
      say(`${server.name}: ${Math.round(side.qps.qps)} QPS, RSS ${(rssBytes(server.pid) / 2 ** 20).toFixed(0)} MiB after it`);
      logMemory(server, await scrape(server), 'without a limit');
    }
    await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-propagation' } } });
    const [a, b] = await measurePropagation(client, pair, 'bench-propagation', PROPAGATION_SAMPLES);
    ours.propagation = a;
    theirs.propagation = b;
    for (const server of pair) await server.stop();
  }
  const contents = await countCluster(client);
  say(`counted as the operator does: ${JSON.stringify(contents)}`);
  for (const [which, side] of [['ours', ours], ['theirs', theirs]] as const) {
    const startLimited = (cgroupProcs: string): Promise<RunningServer> => (which === 'ours'
      ? startResolver({ ...common, cpus: everyCore, main, upstream: upstreamAddress, name: 'limited', cgroupProcs })
      : startCoredns({ ...common, cpus: everyCore, binary: binaries.coredns, upstream: upstreamAddress, cgroupProcs }));
    const load = async (server: RunningServer): Promise<void> => {
      await warmUp(server, files.cluster, cores.client, 2);
      await measure(server, files.cluster, cores.client, 2);
    };
    const limited = await runLimited(which, DEFAULT_LIMIT_BYTES, startLimited, load);
    if (limited) side.limited = limited;
    const sizedBytes = sizedLimitBytes(which === 'ours' ? 'clusterdns' : 'coredns', contents);
    const sized = sizedBytes === DEFAULT_LIMIT_BYTES ? limited : await runLimited(which, sizedBytes, startLimited, load);
    if (sized) side.sized = sized;
  }
  const section = scaleSection({
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    command: `npm run bench:resolver -- --services ${count}`,
    machine: `${machine.cores} cores (${machine.cpuModel}), Linux ${machine.kernel}, Node.js ${machine.node}`,
    shape, createSeconds, ours, theirs, cores, machineCores: machine.cores,
  });
  process.stdout.write(`\n${section}\n`);
  writeResults(join(ROOT, 'bench/RESULTS.md'), section, `resolver scale ${count}`);
  say(`bench/RESULTS.md updated (section "Resolver at ${count.toLocaleString('en-US')} Services")`);
}

/** The memory limit the operator gives an instance of `engine` without spec.resources in a cluster of `contents`. */
function sizedLimitBytes(engine: 'clusterdns' | 'coredns', contents: ClusterContents | undefined): number {
  const parsed = parseClusterDNS({ apiVersion: API_VERSION, kind: KIND, metadata: { name: 'bench' }, spec: { engine, version: NEWEST_COREDNS } });
  if (!parsed.ok) throw new Error(parsed.error);
  return Number.parseInt(String(podResources(parsed.value.spec, contents).limits?.['memory']), 10) * 2 ** 20;
}

/** A server's /metrics text ('' for a server without them, or when it does not answer). */
async function scrape(server: RunningServer): Promise<string> {
  if (!server.metricsUrl) return '';
  return (await httpRequest({ url: server.metricsUrl }).catch(() => undefined))?.body ?? '';
}

/** The value of an unlabelled sample in a /metrics text (NaN when absent). */
function sample(metrics: string, name: string): number {
  return Number(new RegExp(`^${name} (\\S+)`, 'm').exec(metrics)?.[1] ?? NaN);
}

/**
 * Logs where a resolver's memory is after load (its main thread's heap and what its buffers
 * hold outside it), so that an RSS figure can be told apart from a heap the collector has
 * not yet shrunk.
 */
function logMemory(server: RunningServer, metrics: string, where: string): void {
  if (!metrics) return;
  const mib = (name: string): string => fmt(sample(metrics, name) / 2 ** 20);
  say(`${server.name} after load ${where}: main thread's heap ${mib('nodejs_heap_size_total_bytes')} MiB (${mib('nodejs_heap_size_used_bytes')} used), external ${mib('nodejs_external_memory_bytes')} MiB, RSS ${fmt(rssBytes(server.pid) / 2 ** 20)} MiB`);
}

/**
 * Starts a server with its defaults inside a memory cgroup of `limitBytes`, as its pod
 * runs, and puts it under saturating `load`: how long until it answers, how many threads
 * it chose, its peak and whether the kernel OOM-killed it. Undefined where no cgroup can
 * be made (not root).
 */
async function runLimited(
  which: 'ours' | 'theirs', limitBytes: number, start: (cgroupProcs: string) => Promise<RunningServer>, load: (server: RunningServer) => Promise<void>,
): Promise<Limited | undefined> {
  const limit = createMemoryLimit(`clusterdns-bench-scale-${which}`, limitBytes);
  if (!limit) return undefined;
  let server: RunningServer | undefined;
  try {
    server = await start(limit.procsFile);
  } catch (error) {
    say(`${which === 'ours' ? 'clusterdns resolver' : 'CoreDNS'} in ${limitBytes / 2 ** 20} MiB: ${error instanceof Error ? error.message : String(error)}`);
  }
  let threads: number | undefined;
  if (server) {
    await sleep(SETTLE_MS);
    await load(server).catch((error: unknown) => { say(`${server.name} under load in ${limitBytes / 2 ** 20} MiB: ${error instanceof Error ? error.message : String(error)}`); });
    const metrics = await scrape(server);
    logMemory(server, metrics, `in ${limitBytes / 2 ** 20} MiB`);
    const serving = sample(metrics, 'clusterdns_resolver_serving_threads');
    if (Number.isInteger(serving)) threads = serving;
    await server.stop();
  }
  const result = { limitBytes, startMs: server?.readyMs, threads, peakBytes: limit.peakBytes(), oomKills: limit.oomKills() };
  say(`${server?.name ?? which} in ${limitBytes / 2 ** 20} MiB: ${result.startMs === undefined ? 'never answered' : `answering after ${fmt(result.startMs / 1000, 1)} s`}, peak ${fmt(result.peakBytes / 2 ** 20)} MiB, OOM kills ${result.oomKills}${threads ? `, ${threads} serving thread(s)` : ''}`);
  limit.remove();
  return result;
}

const LIMIT_MIB = DEFAULT_LIMIT_BYTES / 2 ** 20;

type LimitedRun = 'limited' | 'sized';
const RUN_LABEL: Record<LimitedRun, string> = { limited: `in the default ${LIMIT_MIB} MiB limit`, sized: 'in the limit sized for this cluster' };

/** The rows of the runs within a limit that have a ratio. */
function limitedRows(ours: Side, theirs: Side, run: LimitedRun): Array<[string, number, number, number]> {
  const start = (side: Side): number => (side[run]?.startMs ?? NaN) / 1000;
  const peak = (side: Side): number => (side[run]?.peakBytes ?? NaN) / 2 ** 20;
  return [
    ...(run === 'sized' ? [[`${RUN_LABEL[run]}: the limit (MiB)`, (ours.sized?.limitBytes ?? NaN) / 2 ** 20, (theirs.sized?.limitBytes ?? NaN) / 2 ** 20, 0] as [string, number, number, number]] : []),
    [`${RUN_LABEL[run]}: start until answering (s)`, start(ours), start(theirs), 1],
    [`${RUN_LABEL[run]}: peak charged, saturating load included (MiB)`, peak(ours), peak(theirs), 0],
  ];
}

/** The rows of the runs within a limit that are counts, not measures. */
function limitedTextRows(ours: Side, theirs: Side, cores: number, run: LimitedRun): string[] {
  const oom = (side: Side): string => (side[run] ? String(side[run].oomKills) : 'n/a');
  return [
    `| ${RUN_LABEL[run]}: OOM kills | ${oom(ours)} | ${oom(theirs)} | |`,
    `| ${RUN_LABEL[run]}: serving threads | ${ours[run]?.threads ?? 'n/a'} (threads: auto) | GOMAXPROCS ${cores} | |`,
  ];
}

export interface ScaleReport {
  readonly date: string;
  readonly command: string;
  readonly machine: string;
  readonly shape: LoadShape;
  readonly createSeconds: number;
  readonly ours: Side;
  readonly theirs: Side;
  readonly cores: { readonly client: string; readonly server: string };
  readonly machineCores: number;
}

/** The section's markdown (pure). */
export function scaleSection(report: ScaleReport): string {
  const { ours, theirs, shape } = report;
  const rows: Array<[string, number, number, number]> = [];
  const seconds = (side: Side, t: number): number => (side.startMs.get(t) ?? NaN) / 1000;
  const mib = (side: Side, t: number): number => (side.rss.get(t) ?? NaN) / 2 ** 20;
  for (const t of THREADS) rows.push([`start until answering, ${t} thread(s) (s)`, seconds(ours, t), seconds(theirs, t), 1]);
  for (const t of THREADS) rows.push([`RSS after sync, ${t} thread(s) (MiB)`, mib(ours, t), mib(theirs, t), 0]);
  rows.push(['cluster-name QPS, one core', ours.qps?.qps ?? NaN, theirs.qps?.qps ?? NaN, 0]);
  rows.push(['propagation p50 (ms)', ours.propagation?.p50Ms ?? NaN, theirs.propagation?.p50Ms ?? NaN, 1]);
  rows.push(['propagation p99 (ms)', ours.propagation?.p99Ms ?? NaN, theirs.propagation?.p99Ms ?? NaN, 1]);
  rows.push(['RSS 4 threads / 1 thread', mib(ours, 4) / mib(ours, 1), mib(theirs, 4) / mib(theirs, 1), 2]);
  const loaded = (side: Side, t: number): number => (side.loadedRss?.get(t) ?? NaN) / 2 ** 20;
  for (const t of LOADED) rows.push([`RSS after saturating load, ${t} thread(s) (MiB)`, loaded(ours, t), loaded(theirs, t), 0]);
  rows.push(['under load, each thread beyond the first (MiB)', (loaded(ours, 4) - loaded(ours, 1)) / 3, (loaded(theirs, 4) - loaded(theirs, 1)) / 3, 1]);
  rows.push(...limitedRows(ours, theirs, 'limited'));
  const sizedRows = limitedRows(ours, theirs, 'sized');
  const objects = 2 * shape.services;
  const busy = (m: Measured | undefined): string => (m ? `${fmt(m.otherPercent)} % (load ${fmt(m.load1, 2)})` : 'n/a');
  return [
    `## Resolver at ${shape.services.toLocaleString('en-US')} Services`,
    '',
    `${report.date}, \`${report.command}\`, ${report.machine}.`,
    `Cluster: ${shape.services.toLocaleString('en-US')} Services (one in ten headless) in ${shape.namespaces} namespaces, one EndpointSlice of ${shape.endpointsPerService} ready endpoints each (${(shape.services * shape.endpointsPerService).toLocaleString('en-US')} endpoints); its ${objects.toLocaleString('en-US')} objects (and an IPAddress per clusterIP) written into etcd in ${fmt(report.createSeconds, 1)} s (${fmt(objects / report.createSeconds)} objects/s; seed.ts says why not through the API).`,
    '',
    '| | clusterdns | CoreDNS | clusterdns / CoreDNS |',
    '|---|---|---|---|',
    ...rows.map(([label, a, b, digits]) => `| ${label} | ${fmt(a, digits)} | ${fmt(b, digits)} | ${ratio(a, b)} |`),
    ...limitedTextRows(ours, theirs, report.machineCores, 'limited'),
    ...sizedRows.map(([label, a, b, digits]) => `| ${label} | ${fmt(a, digits)} | ${fmt(b, digits)} | ${ratio(a, b)} |`),
    ...limitedTextRows(ours, theirs, report.machineCores, 'sized'),
    '',
    `- Start until answering: from process start until /ready answers 200 and the name of the first Service is answered (checked every 100 ms), so from a synced index. One server at a time; 1 thread on core ${report.cores.server}, more threads on every core. Both read the same JSON kubeconfig.`,
    `- RSS: VmRSS ${SETTLE_MS / 1000} s after the server first answered. CoreDNS's threads are GOMAXPROCS. Under load: VmRSS right after the QPS run (1 thread) and after a saturating run of ${SECONDS} s with two dnsperf threads (4 threads), with no memory limit: V8 then sizes the heaps from the machine's memory, and the main thread's young generation alone grows to 128 MiB under load (in a limit V8 sizes them from the limit: see the limited runs); the resolver budgets 32 MiB per thread beyond the first (src/resolver/serve/thread-budget.ts).`,
    `- QPS: dnsperf on core(s) ${report.cores.client}, ${SECONDS} s saturated after 3 s of warm-up, random cluster names. Other processes took ${busy(ours.qps)} / ${busy(theirs.qps)} of the machine meanwhile.`,
    `- Propagation: ${PROPAGATION_SAMPLES} Services created one after the other, both servers asked every millisecond until they answer.`,
    `- Default limit: each server with its default settings on every core, in a memory cgroup of ${LIMIT_MIB} MiB (the memory limit of our Deployment and of kubeadm's CoreDNS), as its pod runs; peak charged is the cgroup's, read after ${SETTLE_MS / 1000} s of answering and then ${SECONDS + 3} s of saturating load (two dnsperf threads). "n/a" start: it never answered (OOM-killed while listing).`,
    `- Sized limit: the same, in the memory limit the operator gives each engine without spec.resources for this cluster, as it counts it (src/controller/memory-sizing.ts); the default run's figures where that limit is the default.`,
  ].join('\n');
}
