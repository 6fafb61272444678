/**
 * Autoscaling benchmark: what 100 node changes cost, in reconciles and apiserver writes, with
 * the operator's debounce against the same changes acted on one by one (the anchor:
 * `--autoscaling-debounce=0`).
 *
 * Starts its own control plane (2 KWOK nodes), the CRD and RBAC of this tree, and `clusterdns
 * operator` as a process of its own under that RBAC, with two autoscaled instances: one
 * replica per node (every change moves its replicas: the worst case) and kube-dns-autoscaler's
 * parameters (256 cores or 16 nodes per replica). Each run makes 100 changes:
 * - join/leave: 50 KWOK nodes join one every 200 ms, then leave one every 200 ms;
 * - flap: one node leaves and comes back 50 times, every 200 ms.
 * Writes are the apiserver's count (apiserver_request_total of the operator's resources,
 * mutating verbs); reconciles the operator's controller_runtime_reconcile_total. The
 * scale-down window is shortened to --window so that a run ends in about a minute.
 * Usage: `npm run bench:autoscaling [-- --window 20s]`.
 */
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { KubeApiError, KubeClient, loadKubeConfig } from '../src/kube/client.ts';
import { ControlPlane } from '../src/local/control-plane.ts';
import { fakeNode } from '../src/local/nodes.ts';
import { printBenchmarkHeader } from './header.ts';
import { settle, waitFor } from './operator-support.ts';
import { OperatorProcess, SUITE_LABEL, apiserverOperatorWrites, installCrd, installRbac, kubectlOn } from '../test/support/operator.ts';
import type { InstalledRbac } from '../test/support/operator.ts';

const { values } = parseArgs({ options: { window: { type: 'string', default: '20s' } } });
const WINDOW = values.window;
const NAMESPACE = 'clusterdns-system';
const SUITE = 'bench';
const NODE_LABEL = 'bench.clusterdns.io/autoscaling';
const CHANGES = 100;
const INTERVAL_MS = 200;
const INSTANCES = { perNode: 'per-node', kubeDNS: 'kube-dns-like' } as const;

interface Counts { readonly reconciles: number; readonly writes: number; readonly deploymentWrites: number; readonly statusWrites: number; readonly followedMs: number }

async function main(): Promise<void> {
  await printBenchmarkHeader(`npm run bench:autoscaling -- --window ${WINDOW}`);
  const plane = await ControlPlane.start({ log: () => undefined });
  const client = new KubeClient(loadKubeConfig(plane.kubeconfigPath));
  try {
    await installCrd(plane);
    await kubectlOn(plane, ['create', 'namespace', NAMESPACE]);
    const rbac = await installRbac(plane, NAMESPACE);
    const results: Array<[string, Counts, Counts]> = [];
    for (const scenario of ['join/leave', 'flap'] as const) {
      const debounced = await measure(plane, client, rbac, scenario, '2s');
      const eager = await measure(plane, client, rbac, scenario, '0');
      results.push([scenario, debounced, eager]);
    }
    console.log(`\n${CHANGES} node changes, one every ${INTERVAL_MS} ms; two autoscaled instances; scale-down window ${WINDOW}.\n`);
    console.log('| scenario | measurement | debounce 2s (default) | debounce 0 (anchor) | debounced / anchor |\n|---|---|---|---|---|');
    for (const [scenario, debounced, eager] of results) {
      const rows: Array<[string, keyof Counts]> = [
        ['reconciles', 'reconciles'], ['apiserver writes', 'writes'], ['of which Deployment applies', 'deploymentWrites'],
        ['of which status writes', 'statusWrites'], ['last change → final replicas (ms; a scale-down waits the window)', 'followedMs'],
      ];
      for (const [label, key] of rows) console.log(`| ${scenario} | ${label} | ${debounced[key]} | ${eager[key]} | ${ratio(debounced[key], eager[key])} |`);
    }
    await rbac.uninstall();
  } finally {
    await plane.stop();
  }
}

function ratio(a: number, b: number): string {
  return b === 0 ? (a === 0 ? '1.00x' : 'n/a') : `${(a / b).toFixed(2)}x`;
}

/** One operator with `debounce`, the two instances, 100 node changes of `scenario`; then everything is removed again. */
async function measure(plane: ControlPlane, client: KubeClient, rbac: InstalledRbac, scenario: 'join/leave' | 'flap', debounce: string): Promise<Counts> {
  const operator = await OperatorProcess.start({
    kubeconfig: rbac.operatorKubeconfig, namespace: NAMESPACE, selector: `${SUITE_LABEL}=${SUITE}`,
    extraArgs: [`--autoscaling-debounce=${debounce}`, `--autoscaling-downscale-stabilization=${WINDOW}`],
  });
  try {
    await kubectlOn(plane, ['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [
      instance(INSTANCES.perNode, { nodesPerReplica: 1, preventSinglePointFailure: false }),
      instance(INSTANCES.kubeDNS, { coresPerReplica: 256, nodesPerReplica: 16 }),
    ] }));
    await waitFor(async () => (await replicas(client, INSTANCES.perNode)) === 2, 60_000);
    if (scenario === 'flap') await addNode(client, 'flapper');
    await settle(plane);
    const before = await counts(plane, operator);
    const last = await (scenario === 'join/leave' ? joinAndLeave(client) : flap(client));
    await waitFor(async () => (await replicas(client, INSTANCES.perNode)) === (scenario === 'flap' ? 3 : 2), 300_000);
    const followedMs = Date.now() - last;
    await settle(plane);
    const after = await counts(plane, operator);
    return {
      reconciles: after.reconciles - before.reconciles, writes: after.writes - before.writes,
      deploymentWrites: after.deploymentWrites - before.deploymentWrites, statusWrites: after.statusWrites - before.statusWrites, followedMs,
    };
  } finally {
    await operator.stop();
    await kubectlOn(plane, ['delete', 'cdns', '-l', `${SUITE_LABEL}=${SUITE}`, '--wait=true']);
    await kubectlOn(plane, ['delete', 'nodes', '-l', NODE_LABEL, '--wait=true']);
    await waitFor(async () => (await client.request<{ items: unknown[] }>('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments`)).items.length === 0, 120_000);
  }
}

/** 50 nodes join, then the same 50 leave; resolves with the time of the last change. */
async function joinAndLeave(client: KubeClient): Promise<number> {
  for (let i = 0; i < CHANGES / 2; i++) {
    await addNode(client, `n${i}`);
    await sleep(INTERVAL_MS);
  }
  for (let i = 0; i < CHANGES / 2; i++) {
    await client.request('DELETE', `/api/v1/nodes/bench-n${i}`);
    await sleep(INTERVAL_MS);
  }
  return Date.now();
}

/** One node leaves and comes back, 50 times; resolves with the time of the last change. */
async function flap(client: KubeClient): Promise<number> {
  for (let i = 0; i < CHANGES / 2; i++) {
    await client.request('DELETE', '/api/v1/nodes/bench-flapper');
    await untilGone(client, 'bench-flapper');
    await sleep(INTERVAL_MS);
    await addNode(client, 'flapper');
    await sleep(INTERVAL_MS);
  }
  return Date.now();
}

function instance(name: string, autoscaling: object): object {
  return { apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name, labels: { [SUITE_LABEL]: SUITE } }, spec: { version: '0.1.0', autoscaling } };
}

function addNode(client: KubeClient, suffix: string): Promise<unknown> {
  return client.request('POST', '/api/v1/nodes', {
    body: fakeNode(`bench-${suffix}`, { labels: { [NODE_LABEL]: 'true' }, taints: [{ key: NODE_LABEL, effect: 'NoSchedule' }], cpu: '4' }),
  });
}

async function untilGone(client: KubeClient, name: string): Promise<void> {
  await waitFor(async () => {
    try {
      await client.request('GET', `/api/v1/nodes/${name}`);
      return false;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return true;
      throw error;
    }
  }, 30_000);
}

async function replicas(client: KubeClient, name: string): Promise<number | undefined> {
  try {
    return (await client.request<{ spec: { replicas: number } }>('GET', `/apis/apps/v1/namespaces/${NAMESPACE}/deployments/${name}`)).spec.replicas;
  } catch {
    return undefined;
  }
}

async function counts(plane: ControlPlane, operator: OperatorProcess): Promise<Counts> {
  const own = (resource: string): Promise<number> => operator.metric('clusterdns_operator_apiserver_writes_total', (l) => l['resource'] === resource);
  return {
    reconciles: await operator.metric('controller_runtime_reconcile_total'),
    writes: await apiserverOperatorWrites(plane),
    deploymentWrites: await own('Deployment'),
    statusWrites: await own('ClusterDNS/status'),
    followedMs: 0,
  };
}

await main();
