/**
 * `npm run bench:resolver`: the resolver against CoreDNS and dnsmasq, one command.
 *
 * Starts its own control plane, seeds 10,000 Services with 50,000 endpoints (seed.ts), runs the
 * three servers on loopback pinned to the same core, drives each with dnsperf and the same
 * query files (cluster names; external names that each server forwards to one upstream
 * dnsmasq and then answers from its cache), measures RSS after the sync and after the load
 * and the propagation latency of a new Service, prints a side-by-side table and writes the
 * "Resolver" section of bench/RESULTS.md. Everything it starts it stops, whatever happens.
 *
 * With `--shadow`, on the same cluster: the resolver without shadowing and shadowing 1 % and
 * 100 % of its answers (shadow.ts), and the "Shadowing" section instead. With `--services N`,
 * the resolver beside CoreDNS at cluster scale (scale.ts), its own section per N.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { ensureBinaries } from '../../src/local/binaries.ts';
import { benchServices, NAMESPACE_PREFIX } from './cluster-load.ts';
import type { BenchService, LoadShape } from './cluster-load.ts';
import { measureCodec } from './codec.ts';
import { coreSplit, describeMachine, rssBytes } from './machine.ts';
import { FIXED_RATE, REPEATS, SECONDS, querySet } from './measure.ts';
import { measurePropagation } from './propagation.ts';
import { allCoresTable, markdownSection, markdownTable, writeResults } from './report.ts';
import type { AllCoresFigures, Report, ServerFigures } from './report.ts';
import { mostThreads } from '../../src/resolver/serve/thread-budget.ts';
import { runShadowBench, shadowSection, shadowTable } from './shadow.ts';
import { build, cleanups, queryFiles, ROOT, runBench, say, startPlane } from './harness.ts';
import { runScale } from './scale.ts';
import { seedLoad } from './seed.ts';
import { startCoredns, startDnsmasq, startResolver } from './servers.ts';
import type { RunningServer } from './servers.ts';

/** BENCH_SERVICES makes a smaller cluster for a quick look (the figures to keep are those of the default). */
const SERVICES = Number(process.env['BENCH_SERVICES'] ?? 10_000);
const SHAPE: LoadShape = { namespaces: Math.max(1, Math.min(100, Math.round(SERVICES / 100))), services: SERVICES, endpointsPerService: 5 };
const PROPAGATION_SAMPLES = 200;

interface ServiceList {
  items: Array<{ metadata: { namespace: string; name: string }; spec: { clusterIP?: string } }>;
  metadata: { continue?: string };
}

/** `ip name` lines for dnsmasq: the cluster IP of each service, every endpoint of a headless one. */
async function clusterHosts(client: KubeClient, services: readonly BenchService[]): Promise<string> {
  const ips = new Map<string, string>();
  let next: string | undefined;
  do {
    const page = await client.request<ServiceList>('GET', '/api/v1/services', { query: { limit: 2000, continue: next } });
    for (const item of page.items) ips.set(`${item.metadata.namespace}/${item.metadata.name}`, item.spec.clusterIP ?? '');
    next = page.metadata.continue || undefined;
  } while (next);
  return services.flatMap((s) => {
    const fqdn = `${s.name}.${s.namespace}.svc.cluster.local`;
    return s.headless ? s.endpoints.map((ip) => `${ip} ${fqdn}`) : [`${ips.get(`${s.namespace}/${s.name}`) ?? ''} ${fqdn}`];
  }).join('\n') + '\n';
}

async function main(): Promise<void> {
  const machine = describeMachine();
  const cores = coreSplit(machine.cores);
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-bench-'));
  cleanups.push(() => { rmSync(dir, { recursive: true, force: true }); });
  say(`${machine.cores} cores (${machine.cpuModel}), Node.js ${machine.node}; servers on core(s) ${cores.server}, dnsperf on ${cores.client}`);
  const main = build(dir);
  const binaries = await ensureBinaries(['coredns'], say);
  const plane = await startPlane();
  cleanups.push(() => plane.stop());
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  say(`creating ${SHAPE.services} Services with ${SHAPE.services * SHAPE.endpointsPerService} endpoints`);
  const began = Date.now();
  const services = await seedLoad(client, plane.etcdUrl, SHAPE, say);
  say(`created in ${((Date.now() - began) / 1000).toFixed(0)} s`);
  const files = queryFiles(dir, services);
  writeFileSync(join(dir, 'cluster-hosts'), await clusterHosts(client, services));
  const probe = `svc-0.${NAMESPACE_PREFIX}0.svc.cluster.local`;
  const common = { dir, cpus: cores.server, log: say };
  const upstream = await startDnsmasq({ ...common, cpus: cores.client, name: 'upstream-dnsmasq', hostsFile: files.externalHosts, probe: 'ext-0.bench.test', localTtl: 300 });
  cleanups.push(() => upstream.stop());
  const upstreamAddress = `127.0.0.1:${upstream.port}`;
  if (args.shadow === true) {
    const baseline = await startDnsmasq({ ...common, cpus: cores.client, name: 'baseline-dnsmasq', hostsFile: join(dir, 'cluster-hosts'), upstream: `127.0.0.1#${upstream.port}`, probe, localTtl: 30 });
    cleanups.push(() => baseline.stop());
    const runs = await runShadowBench({
      resolver: { ...common, main, kubeconfig: plane.kubeconfigPath, upstream: upstreamAddress, probe },
      baseline, clusterQueries: files.cluster, clientCpus: cores.client, say, settle: () => sleep(5000),
    });
    process.stdout.write(`\n${shadowTable(runs)}\n\n`);
    writeResults(join(ROOT, 'bench/RESULTS.md'), shadowSection(runs, machine, cores, SHAPE.services, new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC'), 'shadow');
    say('bench/RESULTS.md updated (section "Shadowing")');
    return;
  }
  const servers: RunningServer[] = [];
  servers.push(await startResolver({ ...common, main, kubeconfig: plane.kubeconfigPath, upstream: upstreamAddress, probe }));
  cleanups.push(() => servers[0]?.stop());
  servers.push(await startCoredns({ ...common, binary: binaries.coredns, kubeconfig: plane.kubeconfigPath, upstream: upstreamAddress, probe }));
  cleanups.push(() => servers[1]?.stop());
  servers.push(await startDnsmasq({ ...common, name: 'dnsmasq', hostsFile: join(dir, 'cluster-hosts'), upstream: `127.0.0.1#${upstream.port}`, probe, localTtl: 30 }));
  cleanups.push(() => servers[2]?.stop());
  await sleep(5000);
  const rssAfterSync = servers.map((s) => rssBytes(s.pid));

  const figures: ServerFigures[] = [];
  for (const [i, server] of servers.entries()) {
    const cluster = await querySet(server, files.cluster, cores.client, say);
    const external = await querySet(server, files.external, cores.client, say);
    figures.push({ name: server.name, readyMs: server.readyMs, rssAfterSync: rssAfterSync[i] ?? 0, rssAfterLoad: rssBytes(server.pid), cluster, external });
  }
  await client.request('POST', '/api/v1/namespaces', { body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench-propagation' } } });
  const propagations = await measurePropagation(client, servers.slice(0, 2), 'bench-propagation', PROPAGATION_SAMPLES);
  propagations.forEach((propagation, i) => {
    const entry = figures[i];
    if (entry) figures[i] = { ...entry, propagation };
    say(`${entry?.name ?? ''}: propagation p50 ${propagation.p50Ms.toFixed(1)} ms, p99 ${propagation.p99Ms.toFixed(1)} ms`);
  });
  const allCores: AllCoresFigures[] = [];
  if (machine.cores > 1) {
    // Every core for the server (dnsperf shares them): what serving threads buy.
    const everyCore = `0-${machine.cores - 1}`;
    const wide = { ...common, cpus: everyCore };
    const widened = [
      await startResolver({ ...wide, main, kubeconfig: plane.kubeconfigPath, upstream: upstreamAddress, probe, name: 'all-cores' }),
      await startCoredns({ ...wide, binary: binaries.coredns, kubeconfig: plane.kubeconfigPath, upstream: upstreamAddress, probe }),
    ];
    for (const server of widened) cleanups.push(() => server.stop());
    await sleep(5000);
    for (const [i, server] of widened.entries()) {
      const rssAfterSync = rssBytes(server.pid);
      const cluster = await querySet(server, files.cluster, everyCore, say, Math.min(machine.cores, 4));
      allCores.push({
        name: server.name, threads: i === 0 ? String(mostThreads('auto', machine.cores)) : `GOMAXPROCS ${machine.cores}`,
        rssAfterSync, rssAfterLoad: rssBytes(server.pid), cluster,
      });
      await server.stop();
    }
  }
  const report: Report = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    command: 'npm run bench:resolver',
    machine,
    cores,
    shape: `Cluster: ${benchServices(SHAPE).length.toLocaleString('en-US')} Services (one in ten headless) in ${SHAPE.namespaces} namespaces, each with one EndpointSlice of ${SHAPE.endpointsPerService} ready endpoints (${(SHAPE.services * SHAPE.endpointsPerService).toLocaleString('en-US')} endpoints).`,
    fixedRate: FIXED_RATE,
    seconds: SECONDS,
    servers: figures,
    allCores,
    codec: measureCodec(),
    notes: [
      'Cluster names: 10,000 A queries over random Services (ClusterIP and headless); external names: 1,000 names of an upstream dnsmasq (TTL 300), cached by each server (caches capped at 30 s, as `cache 30`).',
      'The resolver runs compiled to JavaScript, as the image runs it; CoreDNS runs the kubeadm server block (errors, health, ready, kubernetes, prometheus, forward, cache, loadbalance); dnsmasq answers a hosts file of the same names and forwards the external names to the same upstream.',
      `Saturated figures are the median (by QPS) of ${REPEATS} runs of ${SECONDS} s. RSS is VmRSS: 5 s after each server first answered, and again after all its runs.`,
      `Propagation: ${PROPAGATION_SAMPLES} Services created one after the other; both servers are asked each name every millisecond from just before the create request until they answer it.`,
    ],
  };
  process.stdout.write(`\n${markdownTable(report)}\n\n${allCoresTable(report)}\n\n`);
  writeResults(join(ROOT, 'bench/RESULTS.md'), markdownSection(report));
  say('bench/RESULTS.md updated (section "Resolver")');
}

const { values: args } = parseArgs({ options: { services: { type: 'string' }, shadow: { type: 'boolean' } } });
if (args.services !== undefined) {
  const count = Number(args.services);
  if (!Number.isInteger(count) || count < 100) throw new Error(`--services: a whole number of at least 100, not ${args.services}`);
  await runBench(() => runScale(count));
} else {
  await runBench(main);
}
