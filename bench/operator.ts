/**
 * Operator benchmark: the time from `kubectl apply` of ClusterDNS objects to their
 * `Available=True` (one at a time, then 50 at once), and the apiserver writes per reconcile
 * when nothing changed (the target is 0).
 *
 * Starts its own control plane (KWOK nodes make the resolver pods Running and Ready), the CRD
 * and RBAC of this tree, and `clusterdns operator` as a process of its own with its RBAC's
 * identity. Availability is seen by a watch on ClusterDNS in this process; writes are read
 * from the apiserver's apiserver_request_total. Usage: `npm run bench:operator [-- --rounds N --many N]`.
 */
import { parseArgs } from 'node:util';
import type { ClusterDNSStatus } from '../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../src/api/names.ts';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { Watcher } from '../src/kube/watcher.ts';
import { ControlPlane } from '../src/local/control-plane.ts';
import { printBenchmarkHeader } from './header.ts';
import { settle, waitFor } from './operator-support.ts';
import { OperatorProcess, SUITE_LABEL, apiserverOperatorWrites, installCrd, installRbac, kubectlOn } from '../test/support/operator.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '5' }, many: { type: 'string', default: '50' } } });
const ROUNDS = Number(values.rounds);
const MANY = Number(values.many);
const NAMESPACE = 'clusterdns-system';
const SUITE = 'bench';

interface Seen { metadata: { name: string; generation: number }; status?: ClusterDNSStatus }

/** When each ClusterDNS was first seen Available=True for its current generation (ms since the epoch). */
class AvailabilityClock {
  readonly availableAt = new Map<string, number>();
  private waiters: Array<() => void> = [];

  observe(object: Seen): void {
    const available = object.status?.conditions?.find((c) => c.type === 'Available');
    if (available?.status === 'True' && object.status?.observedGeneration === object.metadata.generation && !this.availableAt.has(object.metadata.name)) {
      this.availableAt.set(object.metadata.name, Date.now());
      for (const wake of this.waiters.splice(0)) wake();
    }
  }

  async until(names: readonly string[], timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!names.every((n) => this.availableAt.has(n))) {
      if (Date.now() > deadline) throw new Error(`not Available after ${timeoutMs} ms: ${names.filter((n) => !this.availableAt.has(n)).join(', ')}`);
      await new Promise<void>((resolve) => { this.waiters.push(resolve); setTimeout(resolve, 1000); });
    }
  }
}

function clusterDNS(name: string, clusterIP: string): object {
  return { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name, labels: { [SUITE_LABEL]: SUITE } }, spec: { version: '0.1.0', clusterIP, replicas: 2 } };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  await printBenchmarkHeader(`npm run bench:operator -- --rounds ${ROUNDS} --many ${MANY}`);

  const plane = await ControlPlane.start({ log: () => undefined });
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  const clock = new AvailabilityClock();
  const stopWatch = new AbortController();
  let operator: OperatorProcess | undefined;
  try {
    await installCrd(plane);
    await kubectlOn(plane, ['create', 'namespace', NAMESPACE]);
    const rbac = await installRbac(plane, NAMESPACE);
    operator = await OperatorProcess.start({ kubeconfig: rbac.operatorKubeconfig, namespace: NAMESPACE, selector: `${SUITE_LABEL}=${SUITE}` });
    const watching = new Watcher<Seen>({
      client, resource: { path: CLUSTERDNS_PATH }, shrink: (raw) => raw as unknown as Seen,
      onEvent: (event) => { for (const o of event.type === 'restarted' ? event.objects : [event.object]) clock.observe(o); },
    }).run(stopWatch.signal);

    // One at a time.
    const single: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      const name = `single-${round}`;
      const began = Date.now();
      await kubectlOn(plane, ['apply', '-f', '-'], JSON.stringify(clusterDNS(name, `10.96.9.${round + 1}`)));
      await clock.until([name], 120_000);
      single.push((clock.availableAt.get(name) ?? NaN) - began);
      await kubectlOn(plane, ['delete', 'cdns', name, '--wait=false']);
    }
    // The garbage collector's deletions of their children are writes to the same resources: let them finish first.
    await waitFor(async () => (await client.request<{ items: unknown[] }>('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`)).items.length === 0, 120_000);

    // Many at once, in one kubectl apply.
    const names = Array.from({ length: MANY }, (_, i) => `many-${i}`);
    const list = { apiVersion: 'v1', kind: 'List', items: names.map((n, i) => clusterDNS(n, `10.96.10.${i + 1}`)) };
    const began = Date.now();
    await kubectlOn(plane, ['apply', '-f', '-'], JSON.stringify(list));
    await clock.until(names, 300_000);
    const many = names.map((n) => (clock.availableAt.get(n) ?? NaN) - began).sort((a, b) => a - b);
    const work = await reconcileWork(operator);

    // Writes per reconcile when nothing changed: wake every instance with a metadata-only change.
    const idle = await idleWrites(plane, operator, names);
    // And right after a restart of the operator, whose memory of what it applied is then empty.
    await operator.stop();
    const afterRestartBase = await apiserverOperatorWrites(plane);
    operator = await OperatorProcess.start({ kubeconfig: rbac.operatorKubeconfig, namespace: NAMESPACE, selector: `${SUITE_LABEL}=${SUITE}` });
    await waitFor(async () => (await operator!.metric('controller_runtime_reconcile_total')) >= names.length, 120_000);
    await settle(plane);
    const restartWrites = (await apiserverOperatorWrites(plane)) - afterRestartBase;
    const restartReconciles = await operator.metric('controller_runtime_reconcile_total');
    const idleAfterRestart = await idleWrites(plane, operator, names);

    const sorted = [...single].sort((a, b) => a - b);
    console.log('\n| measurement | result |\n|---|---|');
    console.log(`| 1 ClusterDNS, apply → Available=True (${ROUNDS} rounds) | median ${percentile(sorted, 50)} ms, min ${sorted[0]} ms, max ${sorted[sorted.length - 1]} ms |`);
    console.log(`| ${MANY} ClusterDNS in one apply → each Available=True | p50 ${percentile(many, 50)} ms, p90 ${percentile(many, 90)} ms, last ${many[many.length - 1]} ms |`);
    console.log(`| apiserver writes per reconcile, nothing changed (${idle.reconciles} reconciles) | ${(idle.writes / idle.reconciles).toFixed(3)} (${idle.writes} writes) |`);
    console.log(`| first reconcile of each after an operator restart (${restartReconciles} reconciles) | ${restartWrites} writes: ${(restartWrites / Math.max(1, restartReconciles)).toFixed(2)} per reconcile (no-op applies) |`);
    console.log(`| apiserver writes per reconcile, nothing changed, after the restart (${idleAfterRestart.reconciles} reconciles) | ${(idleAfterRestart.writes / idleAfterRestart.reconciles).toFixed(3)} (${idleAfterRestart.writes} writes) |`);
    console.log(`\nsingle rounds (ms): ${single.join(', ')}`);
    console.log(`until the ${MANY} were Available: ${work}`);
    console.log(`operator's own count of its writes while idle: ${idle.own} before the restart, ${idleAfterRestart.own} after`);
    stopWatch.abort();
    await watching;
    await rbac.uninstall();
  } finally {
    stopWatch.abort();
    await operator?.stop();
    await plane.stop();
  }
}

/** Annotates every instance (a change that leaves the desired children as they are) and counts the apiserver's writes. */
async function idleWrites(plane: ControlPlane, operator: OperatorProcess, names: readonly string[]): Promise<{ writes: number; reconciles: number; own: number }> {
  await settle(plane);
  const own = (): Promise<number> => operator.metric('clusterdns_operator_apiserver_writes_total');
  const ownBefore = await own();
  const writesBefore = await apiserverOperatorWrites(plane);
  const reconcilesBefore = await operator.metric('controller_runtime_reconcile_total');
  await kubectlOn(plane, ['annotate', 'cdns', ...names, `bench.clusterdns.io/poke=${Date.now()}`, '--overwrite']);
  await waitFor(async () => (await operator.metric('controller_runtime_reconcile_total')) >= reconcilesBefore + names.length, 60_000);
  await settle(plane);
  return {
    writes: (await apiserverOperatorWrites(plane)) - writesBefore,
    reconciles: (await operator.metric('controller_runtime_reconcile_total')) - reconcilesBefore,
    own: (await own()) - ownBefore,
  };
}

/** Reconciles, their mean time and the mean wait in the queue, from the operator's metrics. */
async function reconcileWork(operator: OperatorProcess): Promise<string> {
  const count = await operator.metric('controller_runtime_reconcile_time_seconds_count');
  const sum = await operator.metric('controller_runtime_reconcile_time_seconds_sum');
  const waited = await operator.metric('workqueue_queue_duration_seconds_sum') / Math.max(1, await operator.metric('workqueue_queue_duration_seconds_count'));
  const writes = await operator.metric('clusterdns_operator_apiserver_writes_total');
  return `${count} reconciles, mean ${((sum / Math.max(1, count)) * 1000).toFixed(0)} ms each, mean wait in the queue ${(waited * 1000).toFixed(0)} ms, ${writes} writes (incl. events)`;
}

await main();
