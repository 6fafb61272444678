/**
 * spec.autoscaling on the real control plane, with the operator as a real process under the
 * RBAC of config/rbac: KWOK nodes join and leave, are cordoned, and change their allocatable
 * CPU, and the Deployment's replicas (and the PodDisruptionBudget) follow within seconds; a
 * scale-down waits for the stabilization window, so a node that flaps does not move the
 * Deployment; changes the formula does not read wake nothing and write nothing.
 *
 * The nodes this suite adds carry a NoSchedule taint (nothing else lands there, the resolver
 * pods do not tolerate it either) and a label by which they are all deleted afterwards, so
 * that the suites relying on the two KWOK nodes see only those.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, test } from 'node:test';
import type { ClusterDNSStatus, Condition } from '../../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { milliValue } from '../../src/controller/nodes.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { fakeNode } from '../../src/local/nodes.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { OperatorProcess, SUITE_LABEL, apiserverOperatorWrites, installCrd, installRbac } from '../support/operator.ts';
import type { InstalledRbac } from '../support/operator.ts';

interface NodeObject { metadata: { name: string }; status?: { allocatable?: { cpu?: string } } }
interface Deployment { metadata: { generation: number }; spec: { replicas: number } }
interface ClusterDNSObject { metadata: { generation: number }; status?: ClusterDNSStatus }

const run = randomBytes(3).toString('hex');
const NODE_LABEL = 'test.clusterdns.io/autoscaling';
/** Short, so that the test waits seconds: the defaults (2s, 5m) are the flags' unit tests' business. */
const DEBOUNCE = '300ms';
const WINDOW_MS = 5000;

describe('the operator autoscaling on the cluster\'s size', () => {
  let ns = '';
  let rbac: InstalledRbac | undefined;
  let operator: OperatorProcess | undefined;
  let baseNodes = 0;
  let baseMilliCPU = 0;
  const client = kubeClient();
  const instances: string[] = [];

  const nodeName = (suffix: string): string => `autoscale-${run}-${suffix}`;
  const addNode = (suffix: string, cpu?: string): Promise<unknown> => client.request('POST', '/api/v1/nodes', {
    body: fakeNode(nodeName(suffix), {
      labels: { [NODE_LABEL]: run },
      taints: [{ key: NODE_LABEL, value: run, effect: 'NoSchedule' }],
      ...(cpu === undefined ? {} : { cpu }),
    }),
  });
  const nodeGone = async (name: string): Promise<void> => {
    try {
      await client.request('GET', `/api/v1/nodes/${name}`);
      assert.fail(`node ${name} still exists`);
    } catch (error) {
      if (!(error instanceof KubeApiError) || error.status !== 404) throw error;
    }
  };
  const deleteNode = async (suffix: string): Promise<void> => {
    await client.request('DELETE', `/api/v1/nodes/${nodeName(suffix)}`);
    await eventually(() => nodeGone(nodeName(suffix)), { timeoutMs: 30_000, what: `node ${nodeName(suffix)} gone` });
  };
  const patchNode = (suffix: string, patch: object, subresource = ''): Promise<unknown> =>
    client.request('PATCH', `/api/v1/nodes/${nodeName(suffix)}${subresource}`, { body: JSON.stringify(patch), contentType: 'application/merge-patch+json' });

  const apply = async (name: string, autoscaling: Record<string, unknown>): Promise<void> => {
    instances.push(name);
    await kubectlOk(['apply', '-f', '-'], JSON.stringify({
      apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name, labels: { [SUITE_LABEL]: ns } }, spec: { version: '0.1.0', autoscaling },
    }));
  };
  const deployment = (name: string): Promise<Deployment> => client.request<Deployment>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
  const scaled = async (name: string): Promise<Condition | undefined> =>
    (await client.request<ClusterDNSObject>('GET', `${CLUSTERDNS_PATH}/${name}`)).status?.conditions?.find((c) => c.type === 'Scaled');
  const hasBudget = async (name: string): Promise<boolean> => {
    try {
      await client.request('GET', `/apis/policy/v1/namespaces/${ns}/poddisruptionbudgets/${name}`);
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  };
  /** Waits until the Deployment asks for `replicas`, the PDB follows and the Scaled condition says so; returns how long it took. */
  const follows = async (name: string, replicas: number, message?: RegExp): Promise<number> => {
    const began = Date.now();
    await eventually(async () => {
      assert.equal((await deployment(name)).spec.replicas, replicas);
      const condition = await scaled(name);
      assert.equal(condition?.status, 'True');
      assert.match(condition.message, new RegExp(`^${replicas} replicas? for `));
      if (message) assert.match(condition.message, message);
      assert.equal(await hasBudget(name), replicas > 1, 'a PodDisruptionBudget exactly when there is more than one replica');
    }, { timeoutMs: 30_000, what: `${name} at ${replicas} replicas` });
    return Date.now() - began;
  };
  const settle = (): Promise<void> => eventually(async () => {
    const first = await apiserverOperatorWrites(controlPlane());
    await sleep(2000);
    assert.equal(await apiserverOperatorWrites(controlPlane()), first);
  }, { timeoutMs: 60_000, what: 'writes to settle' });

  before(async () => {
    await installCrd(controlPlane());
    ns = await createNamespace('clusterdns-autoscaling');
    rbac = await installRbac(controlPlane(), ns);
    operator = await OperatorProcess.start({
      kubeconfig: rbac.operatorKubeconfig, namespace: ns, selector: `${SUITE_LABEL}=${ns}`,
      extraArgs: [`--autoscaling-debounce=${DEBOUNCE}`, `--autoscaling-downscale-stabilization=${WINDOW_MS / 1000}s`],
    });
    const nodes = (await client.request<{ items: NodeObject[] }>('GET', '/api/v1/nodes')).items;
    baseNodes = nodes.length;
    baseMilliCPU = nodes.reduce((sum, n) => sum + milliValue(n.status?.allocatable?.cpu ?? '0'), 0);
  });

  after(async () => {
    await operator?.stop();
    for (const name of instances) await kubectl(['delete', 'cdns', name, '--ignore-not-found', '--wait=false']);
    await kubectl(['delete', 'nodes', '-l', `${NODE_LABEL}=${run}`, '--ignore-not-found', '--wait=true', '--timeout=60s']);
    await rbac?.uninstall();
    if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  test('follows nodes as they join within seconds, and leave once the window has passed, with the PodDisruptionBudget', async () => {
    const name = `per-node-${run}`;
    await apply(name, { nodesPerReplica: 1, preventSinglePointFailure: false });
    await follows(name, baseNodes, new RegExp(`for ${baseNodes} nodes and ${Math.ceil(baseMilliCPU / 1000)} cores: ceil\\(${baseNodes} / 1\\) = ${baseNodes} by nodes, within min 1 and max 100$`));
    for (const suffix of ['a', 'b', 'c']) await addNode(suffix);
    const up = await follows(name, baseNodes + 3);
    assert.ok(up < 15_000, `scaled up in ${up} ms`);
    await eventually(async () => {
      const events = await kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name},reason=Rescaled`, '-o', 'jsonpath={.items[*].message}']);
      assert.match(events, new RegExp(`to ${baseNodes + 3} replicas: ${baseNodes + 3} replicas for ${baseNodes + 3} nodes`));
    }, { timeoutMs: 10_000, what: 'a Rescaled event' });

    const began = Date.now();
    await deleteNode('a');
    await deleteNode('b');
    await eventually(async () => { assert.equal((await scaled(name))?.reason, 'ScaleDownStabilized'); }, { timeoutMs: 15_000, what: 'the scale-down held' });
    assert.equal((await deployment(name)).spec.replicas, baseNodes + 3, 'still up while the window runs');
    await follows(name, baseNodes + 1, /within min 1 and max 100$/);
    assert.ok(Date.now() - began >= WINDOW_MS, 'not before the window had passed');
    await deleteNode('c');
    await follows(name, baseNodes);
    await kubectlOk(['delete', 'cdns', name, '--wait=false']);
  });

  test('keeps the Deployment where it is while a node leaves and comes back within the window', async () => {
    const name = `flap-${run}`;
    await addNode('flap');
    await apply(name, { nodesPerReplica: 1, preventSinglePointFailure: false });
    await follows(name, baseNodes + 1);
    const generation = (await deployment(name)).metadata.generation;
    for (let i = 0; i < 3; i++) {
      await deleteNode('flap');
      await sleep(500);
      await addNode('flap');
      await sleep(500);
    }
    await sleep(WINDOW_MS + 2000);
    const after = await deployment(name);
    assert.deepEqual([after.spec.replicas, after.metadata.generation], [baseNodes + 1, generation], 'never scaled down and back up');
    await deleteNode('flap');
    await follows(name, baseNodes);
    await kubectlOk(['delete', 'cdns', name, '--wait=false']);
  });

  test('counts allocatable CPU, and follows a node\'s change of it', async () => {
    const name = `per-core-${run}`;
    // One replica per 1000 cores: the KWOK nodes report 1000 each.
    await addNode('cores', '1500');
    await apply(name, { coresPerReplica: 1000, preventSinglePointFailure: false });
    const cores = (milli: number): number => Math.ceil((baseMilliCPU + milli) / 1000);
    await follows(name, Math.ceil(cores(1_500_000) / 1000), new RegExp(` and ${cores(1_500_000)} cores: ceil\\(${cores(1_500_000)} / 1000\\)`));
    await patchNode('cores', { status: { allocatable: { cpu: '2500' }, capacity: { cpu: '2500' } } }, '/status');
    await follows(name, Math.ceil(cores(2_500_000) / 1000));
    await patchNode('cores', { status: { allocatable: { cpu: '100m' }, capacity: { cpu: '100m' } } }, '/status');
    await follows(name, Math.ceil(cores(100) / 1000), / and \d+ cores: ceil/);
    await deleteNode('cores');
    await kubectlOk(['delete', 'cdns', name, '--wait=false']);
  });

  test('counts cordoned nodes only with includeUnschedulableNodes', async () => {
    const all = `all-${run}`;
    const schedulable = `schedulable-${run}`;
    await addNode('cordon-1');
    await addNode('cordon-2');
    // KWOK makes them Ready a moment after they appear.
    await apply(all, { nodesPerReplica: 1, preventSinglePointFailure: false, includeUnschedulableNodes: true });
    await apply(schedulable, { nodesPerReplica: 1, preventSinglePointFailure: false, includeUnschedulableNodes: false });
    await follows(all, baseNodes + 2);
    await follows(schedulable, baseNodes + 2, / schedulable nodes and /);
    const generation = (await deployment(all)).metadata.generation;
    await patchNode('cordon-1', { spec: { unschedulable: true } });
    await follows(schedulable, baseNodes + 1);
    assert.equal((await deployment(all)).metadata.generation, generation, 'the cordon does not touch the instance that counts every node');
    await deleteNode('cordon-1');
    await deleteNode('cordon-2');
    await follows(all, baseNodes);
    await follows(schedulable, baseNodes);
    await kubectlOk(['delete', 'cdns', all, schedulable, '--wait=false']);
  });

  test('sends no writes and runs no reconcile for Node changes the formula does not read', async () => {
    const name = `idle-${run}`;
    await addNode('idle', '4');
    await apply(name, { nodesPerReplica: 1, coresPerReplica: 100_000, preventSinglePointFailure: false });
    await follows(name, baseNodes + 1);
    await settle();
    const reconciles = (): Promise<number> => operator!.metric('controller_runtime_reconcile_total');
    const before = { writes: await apiserverOperatorWrites(controlPlane()), reconciles: await reconciles() };
    for (let i = 0; i < 5; i++) {
      await patchNode('idle', { metadata: { labels: { 'test.clusterdns.io/poke': String(i) }, annotations: { 'test.clusterdns.io/poke': String(i) } } });
      // Memory is not in the formula.
      await patchNode('idle', { status: { allocatable: { memory: `${32 - i}Gi` } } }, '/status');
    }
    await sleep(3000);
    assert.equal(await apiserverOperatorWrites(controlPlane()) - before.writes, 0, 'no writes to children or status');
    assert.equal(await reconciles() - before.reconciles, 0, 'not even a reconcile');
    await deleteNode('idle');
    await follows(name, baseNodes);
    await kubectlOk(['delete', 'cdns', name, '--wait=false']);
  });
});
