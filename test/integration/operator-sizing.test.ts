/**
 * The pods' memory sized from what the cluster holds, on the real control plane, with the
 * operator as a real process under the RBAC of config/rbac: it counts the cluster's
 * Services, EndpointSlices (and their endpoints) and Pods with three small lists, keeps
 * kubeadm's 70Mi/170Mi while the cluster fits in them, raises them for an instance whose
 * engine would not fit (CoreDNS holds far more per endpoint than clusterdns' index), leaves
 * spec.resources alone, and lowers them again when the cluster shrinks.
 *
 * The cluster is grown by EndpointSlices of 1,000 endpoints each in a namespace of this
 * suite (70,000 endpoints), behind 501 small slices of a namespace that comes first in a
 * list, so that a first page of 500 holds none of them; all deleted afterwards.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { parseClusterDNS } from '../../src/api/clusterdns.ts';
import type { ClusterDNSSpec } from '../../src/api/clusterdns.ts';
import { RESOLVER_CONTAINER } from '../../src/api/names.ts';
import { NEWEST_COREDNS } from '../../src/coredns/releases.ts';
import { DEFAULT_RESOURCES, podResources } from '../../src/controller/memory-sizing.ts';
import type { ClusterContents, PodResources } from '../../src/controller/memory-sizing.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { OperatorProcess, SUITE_LABEL, installCrd, installRbac } from '../support/operator.ts';
import type { InstalledRbac } from '../support/operator.ts';

interface Deployment { spec: { template: { spec: { containers: Array<{ name: string; resources?: PodResources }> } } } }
interface List { items: unknown[]; metadata: { continue?: string } }

const run = randomBytes(3).toString('hex');
const BIG_SLICES = 70;
const ENDPOINTS_PER_SLICE = 1000;
const SMALL_SLICES = 501;

describe('the operator sizing the pods\' memory from the cluster', () => {
  let ns = '';
  let grown = '';
  let first = '';
  let rbac: InstalledRbac | undefined;
  let operator: OperatorProcess | undefined;
  const client = kubeClient();
  const names = { resolver: `sized-${run}`, coredns: `sized-coredns-${run}`, own: `sized-own-${run}` } as const;
  const specs: Record<keyof typeof names, Record<string, unknown>> = {
    resolver: { version: '0.1.0' },
    coredns: { engine: 'coredns', version: NEWEST_COREDNS },
    own: { version: '0.1.0', resources: { requests: { memory: '50Mi' }, limits: { memory: '90Mi' } } },
  };
  const parsedSpec = (key: keyof typeof names): ClusterDNSSpec => {
    const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: names[key] }, spec: specs[key] });
    assert.ok(parsed.ok);
    return parsed.value.spec;
  };
  const resourcesOf = async (name: string): Promise<PodResources | undefined> => {
    const deployment = await client.request<Deployment>('GET', `/apis/apps/v1/namespaces/${ns}/deployments/${name}`);
    return deployment.spec.template.spec.containers.find((c) => c.name === RESOLVER_CONTAINER)?.resources;
  };
  /** Every object of a kind across the cluster, counted page by page. */
  const countAll = async (path: string): Promise<{ objects: number; endpoints: number }> => {
    let objects = 0;
    let endpoints = 0;
    let next: string | undefined;
    do {
      const page: List = await client.request<List>('GET', path, { query: { limit: 500, ...(next ? { continue: next } : {}) } });
      objects += page.items.length;
      for (const item of page.items) endpoints += (item as { endpoints?: unknown[] }).endpoints?.length ?? 0;
      next = page.metadata.continue || undefined;
    } while (next);
    return { objects, endpoints };
  };
  /**
   * What the operator counted, from its metric. The count runs beside the caches' sync (ready
   * waits for it only a few seconds), so the gauge is waited for.
   */
  const counted = (): Promise<ClusterContents> => eventually(async () => {
    const samples = (await operator!.metrics()).filter((s) => s.name === 'clusterdns_operator_cluster_objects');
    const of = (kind: string): number => {
      const sample = samples.find((s) => s.labels['kind'] === kind);
      assert.ok(sample, `no count of ${kind} yet:\n${operator!.logs.slice(-2000)}`);
      return sample.value;
    };
    return { services: of('services'), endpointSlices: of('endpointSlices'), endpoints: of('endpoints'), pods: of('pods') };
  }, { timeoutMs: 60_000, intervalMs: 250, what: 'the operator\'s count of the cluster' });
  const startOperator = async (): Promise<void> => {
    await operator?.stop();
    operator = await OperatorProcess.start({ kubeconfig: rbac!.operatorKubeconfig, namespace: ns, selector: `${SUITE_LABEL}=${ns}` });
  };
  /** An EndpointSlice of `endpoints` ready addresses, distinct across the `index`es of one size. */
  const slice = (name: string, endpoints: number, index: number): object => ({
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { name, labels: { 'kubernetes.io/service-name': name } },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    endpoints: Array.from({ length: endpoints }, (_, i) => ({ addresses: [`10.${200 + Math.floor(index / 50)}.${(index % 50) * 4 + Math.floor(i / 256)}.${i % 256}`], conditions: { ready: true } })),
  });

  before(async () => {
    await installCrd(controlPlane());
    ns = await createNamespace('clusterdns-sizing');
    grown = await createNamespace('sizing-grown');
    first = await createNamespace('sizing-first');
    assert.ok(first < grown, 'the small slices are listed first');
    rbac = await installRbac(controlPlane(), ns);
    for (const key of Object.keys(names) as Array<keyof typeof names>) {
      await kubectlOk(['apply', '-f', '-'], JSON.stringify({
        apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: names[key], labels: { [SUITE_LABEL]: ns } }, spec: specs[key],
      }));
    }
  });

  after(async () => {
    await operator?.stop();
    for (const name of Object.values(names)) await kubectl(['delete', 'cdns', name, '--ignore-not-found', '--wait=false']);
    await rbac?.uninstall();
    for (const namespace of [ns, grown, first]) if (namespace) await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  test('counts the cluster as it is, and keeps kubeadm\'s resources while every engine fits in them', async () => {
    // Namespaces of earlier suites may still be going: the count falls between one taken before and one after.
    const countNow = (): Promise<Array<{ objects: number; endpoints: number }>> => Promise.all(['/api/v1/services', '/apis/discovery.k8s.io/v1/endpointslices', '/api/v1/pods'].map(countAll));
    const before = await countNow();
    await startOperator();
    const after = await countNow();
    const seen = await counted();
    const between = (what: string, value: number, a: number, b: number): void => {
      assert.ok(value >= Math.min(a, b) && value <= Math.max(a, b), `${what}: ${value} counted, ${a} before and ${b} after`);
    };
    between('Services', seen.services, before[0]!.objects, after[0]!.objects);
    between('EndpointSlices', seen.endpointSlices, before[1]!.objects, after[1]!.objects);
    between('Pods', seen.pods, before[2]!.objects, after[2]!.objects);
    between('endpoints', seen.endpoints, before[1]!.endpoints, after[1]!.endpoints);
    for (const name of [names.resolver, names.coredns]) {
      await eventually(async () => { assert.deepEqual(await resourcesOf(name), DEFAULT_RESOURCES); }, { what: `${name} on the defaults` });
    }
    await eventually(async () => { assert.deepEqual(await resourcesOf(names.own), specs.own['resources']); }, { what: 'spec.resources as they are' });
  });

  test('raises the limit of an engine the grown cluster no longer fits, and only of that one', async () => {
    for (let i = 0; i < SMALL_SLICES; i++) await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${first}/endpointslices`, { body: slice(`small-${i}`, 1, i) });
    for (let i = 0; i < BIG_SLICES; i++) await client.request('POST', `/apis/discovery.k8s.io/v1/namespaces/${grown}/endpointslices`, { body: slice(`big-${i}`, ENDPOINTS_PER_SLICE, i) });
    await startOperator();
    const seen = await counted();
    const added = BIG_SLICES * ENDPOINTS_PER_SLICE + SMALL_SLICES;
    assert.ok(seen.endpoints >= added, `${seen.endpoints} endpoints counted, ${added} added:\n${operator!.logs.slice(-2000)}`);
    const sized = podResources(parsedSpec('coredns'), seen);
    assert.ok(Number.parseInt(String(sized.limits?.['memory']), 10) > 170, `CoreDNS sized at ${JSON.stringify(sized)}`);
    await eventually(async () => { assert.deepEqual(await resourcesOf(names.coredns), sized); }, { what: 'the CoreDNS instance sized for the cluster' });
    assert.deepEqual(await resourcesOf(names.resolver), DEFAULT_RESOURCES, 'clusterdns\' index of 70,000 more endpoints fits the defaults');
    assert.deepEqual(await resourcesOf(names.own), specs.own['resources'], 'spec.resources win');
  });

  test('lowers it again once the cluster shrank', async () => {
    for (const namespace of [grown, first]) {
      const slices = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
      await client.request('DELETE', slices);
      await eventually(async () => { assert.equal((await client.request<List>('GET', slices)).items.length, 0); }, { what: `no slices left in ${namespace}` });
    }
    await startOperator();
    await eventually(async () => { assert.deepEqual(await resourcesOf(names.coredns), DEFAULT_RESOURCES); }, { what: 'the CoreDNS instance back on the defaults' });
  });
});
