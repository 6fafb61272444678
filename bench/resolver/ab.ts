/**
 * `ANCHOR=<another checkout> npm run bench:resolver:ab`: the resolver of this checkout
 * against the resolver of another (main, say) on cluster names at one core, measured in
 * turns, so that a change can be held to "within 5%" on a machine that others share.
 *
 * `bench:resolver` measures each server once after the other; on a busy machine the load
 * moves between those minutes by more than 5%. Here both resolvers run side by side on the
 * same core, against the same cluster (1,000 Services, 5,000 endpoints) and the same query
 * file, and dnsperf drives one at a time in ABBA order for ROUNDS rounds: drift in the load
 * of the machine falls on both alike. It prints every run, the median QPS of each and the
 * median of the per-round ratios. Everything it starts it stops.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubeClient, loadKubeConfig } from '../../src/kube/client.ts';
import { ControlPlane } from '../../src/local/control-plane.ts';
import { freePort } from '../../src/local/net.ts';
import { printBenchmarkHeader } from '../header.ts';
import { clusterQueries, createLoad, NAMESPACE_PREFIX } from './cluster-load.ts';
import { runDnsperf } from './dnsperf.ts';
import { coreSplit, describeMachine } from './machine.ts';
import { median } from './measure.ts';
import { compileResolver, startResolver } from './servers.ts';
import type { RunningServer } from './servers.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? 6);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const say = (line: string): void => { process.stderr.write(`bench: ${line}\n`); };

async function main(): Promise<void> {
  const anchorRoot = process.env['ANCHOR'];
  if (!anchorRoot || !existsSync(join(anchorRoot, 'tsconfig.build.json'))) throw new Error('ANCHOR must name another checkout of clusterdns (a directory with tsconfig.build.json)');
  await printBenchmarkHeader(`ANCHOR=${anchorRoot} npm run bench:resolver:ab`);
  const machine = describeMachine();
  const cores = coreSplit(machine.cores);
  const dir = mkdtempSync(join(tmpdir(), 'clusterdns-bench-ab-'));
  const cleanups: Array<() => Promise<void> | void> = [() => { rmSync(dir, { recursive: true, force: true }); }];
  try {
    const builds = { anchor: compileResolver(resolve(anchorRoot), join(dir, 'anchor')), change: compileResolver(ROOT, join(dir, 'change')) };
    const plane = await ControlPlane.start({ log: say });
    cleanups.push(() => plane.stop());
    const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
    const services = await createLoad(client, { namespaces: 10, services: 1000, endpointsPerService: 5 }, say);
    const queries = join(dir, 'cluster-queries.txt');
    writeFileSync(queries, clusterQueries(services));
    const probe = `svc-0.${NAMESPACE_PREFIX}0.svc.cluster.local`;
    // Cluster names only: the upstream is a port nothing listens on.
    const upstream = `127.0.0.1:${await freePort()}`;
    const servers: Record<'anchor' | 'change', RunningServer> = {
      anchor: await startResolver({ dir, cpus: cores.server, log: say, main: builds.anchor, kubeconfig: plane.kubeconfigPath, upstream, probe, name: 'anchor' }),
      change: await startResolver({ dir, cpus: cores.server, log: say, main: builds.change, kubeconfig: plane.kubeconfigPath, upstream, probe, name: 'change' }),
    };
    cleanups.push(() => servers.anchor.stop(), () => servers.change.stop());
    for (const server of Object.values(servers)) await runDnsperf({ server, queryFile: queries, seconds: 3, cpus: cores.client }); // JIT and caches
    const qps: Record<'anchor' | 'change', number[]> = { anchor: [], change: [] };
    const ratios: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? (['anchor', 'change'] as const) : (['change', 'anchor'] as const);
      for (const which of order) {
        const result = await runDnsperf({ server: servers[which], queryFile: queries, seconds: SECONDS, cpus: cores.client });
        qps[which].push(result.qps);
        say(`round ${round + 1} ${which}: ${Math.round(result.qps)} QPS (lost ${result.lost}), load ${loadavg()[0]?.toFixed(2) ?? '?'}`);
      }
      ratios.push((qps.change[round] ?? 0) / (qps.anchor[round] ?? 1));
    }
    console.log(`\nCluster names, one core for each resolver (core ${cores.server}), dnsperf on core ${cores.client}, ${ROUNDS} rounds of ${SECONDS} s in ABBA order:`);
    console.log('| | anchor | this checkout | this checkout / anchor |');
    console.log('|---|---|---|---|');
    console.log(`| QPS per run | ${qps.anchor.map(Math.round).join(', ')} | ${qps.change.map(Math.round).join(', ')} | ${ratios.map((r) => r.toFixed(3)).join(', ')} |`);
    console.log(`| median QPS | ${Math.round(median(qps.anchor))} | ${Math.round(median(qps.change))} | ${(median(qps.change) / median(qps.anchor)).toFixed(3)}x |`);
    console.log(`| median of the per-round ratios | | | ${median(ratios).toFixed(3)}x |`);
    console.log(`load average at the end: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  } finally {
    for (const step of cleanups.reverse()) {
      try {
        await step();
      } catch (error) {
        say(`cleanup: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
  }
}

await main();
