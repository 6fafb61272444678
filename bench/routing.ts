/**
 * Routing benchmark: how long an instance's clusterIP takes to switch who answers, from the
 * readiness change (or the spec change) to the EndpointSlices that kube-proxy would program.
 *
 * Starts its own control plane (KWOK nodes), the cluster's DNS as the baseline
 * (kube-system/kube-dns with 2 pods), the CRD and RBAC of this tree, and `clusterdns operator`
 * as its own process under that RBAC, then a ClusterDNS of 2 replicas. Each round:
 * - fallback on: both pods made unready (Ready condition through the status subresource);
 *   measured from the request that makes the last one unready to the first state of the
 *   Service's slices whose ready endpoints are exactly the baseline's;
 * - fallback off: one pod made ready again; to the first state with only instance endpoints;
 * - rollback: spec.routing Baseline; to the first state with exactly the baseline's endpoints;
 *   and forward again (spec.routing Instance).
 * The anchor: a plain Service selecting the same pods, whose slice kube-controller-manager's
 * EndpointSlice controller updates for the same readiness changes: the time Kubernetes itself
 * takes to reflect them. Every state of the instance's Service is checked for a mix of the
 * instance's and the baseline's endpoints.
 *
 * Usage: `npm run bench:routing [-- --rounds N] [-- --trace]` (--trace prints every state of the Service's endpoints beside the changes).
 */
import { parseArgs } from 'node:util';
import { CLUSTERDNS_PATH } from '../src/api/names.ts';
import { KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { ControlPlane } from '../src/local/control-plane.ts';
import { printBenchmarkHeader } from './header.ts';
import { ensureBaseline } from '../test/support/baseline.ts';
import { OperatorProcess, SUITE_LABEL, installCrd, installRbac, kubectlOn } from '../test/support/operator.ts';
import { EndpointsRecorder, instancePods, readyAddresses, serviceSlices, setPodReady } from '../test/support/routing.ts';
import type { PodAddress } from '../test/support/routing.ts';

const { values } = parseArgs({ options: { rounds: { type: 'string', default: '20' }, trace: { type: 'boolean', default: false } } });
const ROUNDS = Number(values.rounds);
const NAMESPACE = 'clusterdns-system';
const NAME = 'bench-routing';
const ANCHOR = 'bench-anchor';
const CLUSTER_IP = '10.96.11.1';
const TIMEOUT_MS = 30_000;

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

async function main(): Promise<void> {
  await printBenchmarkHeader(`npm run bench:routing -- --rounds ${ROUNDS}${values.trace ? ' --trace' : ''}`);
  const plane = await ControlPlane.start({ log: () => undefined });
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  let operator: OperatorProcess | undefined;
  const recorders: EndpointsRecorder[] = [];
  try {
    await installCrd(plane);
    const baseline = await ensureBaseline(plane);
    await kubectlOn(plane, ['create', 'namespace', NAMESPACE]);
    const rbac = await installRbac(plane, NAMESPACE);
    operator = await OperatorProcess.start({ kubeconfig: rbac.operatorKubeconfig, namespace: NAMESPACE, selector: `${SUITE_LABEL}=bench` });
    await kubectlOn(plane, ['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: NAME, labels: { [SUITE_LABEL]: 'bench' } },
      spec: { version: '0.1.0', clusterIP: CLUSTER_IP, replicas: 2 },
    }));
    await kubectlOn(plane, ['create', 'service', 'clusterip', ANCHOR, '-n', NAMESPACE, '--tcp=53:1053']);
    await kubectlOn(plane, ['set', 'selector', 'service', ANCHOR, '-n', NAMESPACE, `app.kubernetes.io/instance=${NAME}`]);
    const pods = await waitFor(async () => {
      const found = await instancePods(client, NAMESPACE, NAME);
      return found.length === 2 && found.every((p) => p.ready) && same(readyAddresses(await serviceSlices(client, NAMESPACE, NAME)), found.map((p) => p.ip).sort()) ? found : undefined;
    });
    const instance = pods.map((p) => p.ip).sort();
    const routed = new EndpointsRecorder(client, NAMESPACE, NAME);
    const anchor = new EndpointsRecorder(client, NAMESPACE, ANCHOR);
    recorders.push(routed, anchor);
    routed.start();
    anchor.start();
    await routed.until((a) => same(a, instance), 0, TIMEOUT_MS);

    const marks: Array<{ at: number; what: string }> = [];
    const mark = (what: string): number => {
      const at = Date.now();
      marks.push({ at, what });
      return at;
    };
    const results = { fallbackOn: [] as number[], fallbackOff: [] as number[], rollback: [] as number[], forward: [] as number[], anchorOff: [] as number[], anchorOn: [] as number[] };
    const onlyInstance = (a: readonly string[]): boolean => a.length > 0 && a.every((x) => instance.includes(x));
    for (let round = 0; round < ROUNDS; round++) {
      await setPodReady(client, NAMESPACE, pods[0]!.name, false);
      let began = mark(`round ${round}: the last pod unready`);
      await setPodReady(client, NAMESPACE, pods[1]!.name, false);
      results.fallbackOn.push((await routed.until((a) => same(a, baseline), began, TIMEOUT_MS)).at - began);
      results.anchorOff.push((await anchor.until((a) => a.length === 0, began, TIMEOUT_MS)).at - began);

      began = mark(`round ${round}: a pod ready`);
      await setPodReady(client, NAMESPACE, pods[0]!.name, true);
      results.fallbackOff.push((await routed.until(onlyInstance, began, TIMEOUT_MS)).at - began);
      results.anchorOn.push((await anchor.until((a) => a.length > 0, began, TIMEOUT_MS)).at - began);
      await setPodReady(client, NAMESPACE, pods[1]!.name, true);
      await routed.until((a) => same(a, instance), began, TIMEOUT_MS);
      await settled(client, pods);

      began = mark(`round ${round}: routing Baseline`);
      await setRouting(client, 'Baseline');
      results.rollback.push((await routed.until((a) => same(a, baseline), began, TIMEOUT_MS)).at - began);
      began = mark(`round ${round}: routing Instance`);
      await setRouting(client, 'Instance');
      results.forward.push((await routed.until((a) => same(a, instance), began, TIMEOUT_MS)).at - began);
      await settled(client, pods);
    }
    const mixed = routed.mixed(instance, baseline);

    const row = (what: string, ours: readonly number[], theirs?: readonly number[]): string => {
      const [p50, p99] = [percentile(ours, 50), percentile(ours, 99)];
      if (!theirs) return `| ${what} | ${p50} / ${p99} | | ${(p99 / 1000).toFixed(2)}x of the 1 s goal |`;
      const [a50, a99] = [percentile(theirs, 50), percentile(theirs, 99)];
      return `| ${what} | ${p50} / ${p99} | ${a50} / ${a99} | ${(p50 / Math.max(1, a50)).toFixed(2)}x / ${(p99 / Math.max(1, a99)).toFixed(2)}x |`;
    };
    console.log(`\n${ROUNDS} switches each; ms from the change to the first slice state that shows it (p50 / p99).\n`);
    console.log('| switch | instance clusterIP (operator) | plain Service (EndpointSlice controller) | ratio |\n|---|---|---|---|');
    console.log(row('fallback on: last pod unready → baseline endpoints only', results.fallbackOn, results.anchorOff));
    console.log(row('fallback off: a pod ready → instance endpoints only', results.fallbackOff, results.anchorOn));
    console.log(row('rollback: spec.routing Baseline → baseline endpoints only', results.rollback));
    console.log(row('forward: spec.routing Instance → instance endpoints only', results.forward));
    console.log(`\nstates of the instance's Service recorded: ${routed.states.length}; states mixing instance and baseline endpoints: ${mixed.length}`);
    for (const [name, list] of Object.entries(results)) console.log(`${name} (ms): ${list.join(', ')}`);
    if (values.trace) {
      const label = (a: readonly string[]): string => a.map((x) => (instance.includes(x) ? `instance ${x}` : baseline.includes(x) ? `baseline ${x}` : x)).join(', ') || 'none';
      const lines = [...marks.map((m) => ({ at: m.at, what: `-- ${m.what}` })), ...routed.states.map((s) => ({ at: s.at, what: label(s.addresses) }))].sort((a, b) => a.at - b.at);
      const start = lines[0]?.at ?? 0;
      for (const line of lines) console.log(`${String(line.at - start).padStart(7)} ms  ${line.what}`);
    }
    await rbac.uninstall();
  } finally {
    for (const recorder of recorders) await recorder.close();
    await operator?.stop();
    await plane.stop();
  }
}

async function setRouting(client: KubeClient, routing: 'Instance' | 'Baseline'): Promise<void> {
  await client.request('PATCH', `${CLUSTERDNS_PATH}/${NAME}`, { body: JSON.stringify({ spec: { routing } }), contentType: 'application/merge-patch+json' });
}

/** Waits until the operator has reported the instance serving itself again and its own slice is gone, so that rounds do not overlap. */
async function settled(client: KubeClient, pods: readonly PodAddress[]): Promise<void> {
  await waitFor(async () => {
    const status = (await client.request<{ status?: { serving?: string } }>('GET', `${CLUSTERDNS_PATH}/${NAME}`)).status;
    const slices = await serviceSlices(client, NAMESPACE, NAME);
    const ok = status?.serving === 'Instance' && slices.every((s) => s.managedBy !== 'clusterdns-operator') && same(readyAddresses(slices), pods.map((p) => p.ip).sort());
    return ok ? true : undefined;
  });
}

async function waitFor<T>(check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out after 60 s');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

await main();
