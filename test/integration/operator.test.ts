/**
 * The operator as a real process, with only the RBAC of config/rbac, against the real
 * control plane with KWOK nodes: it creates the children, reports status, rolls out a new
 * version, repairs drift, reports a taken or out-of-range clusterIP, leaves unselected
 * instances alone, writes nothing while idle, rides out an apiserver restart, and its
 * children are collected with the ClusterDNS.
 *
 * The operator runs with `--selector test.clusterdns.io/suite=<namespace>`: ClusterDNS
 * objects are cluster-scoped and the control plane is shared, so it reconciles only this
 * suite's objects.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ClusterDNSStatus, Condition } from '../../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { Watcher } from '../../src/kube/watcher.ts';
import { ensureBaseline } from '../support/baseline.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { OperatorProcess, SUITE_LABEL, apiserverOperatorWrites, installCrd, installRbac } from '../support/operator.ts';
import type { InstalledRbac } from '../support/operator.ts';

interface Meta {
  name: string;
  uid: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: Array<{ kind: string; name: string; controller?: boolean }>;
}
interface Container {
  image: string;
  args: string[];
  ports: Array<{ containerPort: number; protocol: string }>;
  securityContext: { readOnlyRootFilesystem?: boolean; runAsNonRoot?: boolean; allowPrivilegeEscalation?: boolean; capabilities?: { drop?: string[] } };
  livenessProbe?: { httpGet?: { path: string; port: number } };
  readinessProbe?: { httpGet?: { path: string; port: number } };
}
interface PodSpec {
  containers: Container[];
  dnsPolicy: string;
  priorityClassName?: string;
  serviceAccountName: string;
  terminationGracePeriodSeconds: number;
  nodeName?: string;
}
interface Deployment {
  metadata: Meta;
  spec: { replicas: number; strategy: { rollingUpdate?: { maxUnavailable: number } }; template: { metadata: Meta; spec: PodSpec } };
  status?: { readyReplicas?: number; updatedReplicas?: number; replicas?: number };
}
interface Service { metadata: Meta; spec: { clusterIP: string; ports: Array<{ name: string; port: number; protocol: string; targetPort: number }> } }
interface ConfigMap { metadata: Meta; data?: Record<string, string> }
interface Pod { metadata: Meta; spec: PodSpec; status: { conditions?: Array<{ type: string; status: string }> } }
interface ClusterDNSObject { metadata: Meta & { generation: number }; status?: ClusterDNSStatus }

const run = randomBytes(3).toString('hex');
const names = { a: `op-${run}-a`, taken: `op-${run}-taken`, outside: `op-${run}-outside`, unselected: `op-${run}-unselected`, selected: `op-${run}-selected` };
const IP_A = '10.96.7.11';

describe('the operator', () => {
  let ns = '';
  let rbac: InstalledRbac | undefined;
  let operator: OperatorProcess | undefined;
  const client = kubeClient();
  const path = (kind: 'configmaps' | 'services' | 'deployments' | 'poddisruptionbudgets' | 'pods', name = ''): string =>
    `${kind === 'deployments' ? '/apis/apps/v1' : kind === 'poddisruptionbudgets' ? '/apis/policy/v1' : '/api/v1'}/namespaces/${ns}/${kind}${name ? `/${name}` : ''}`;
  const get = <T>(p: string): Promise<T> => client.request<T>('GET', p);
  const exists = async (p: string): Promise<boolean> => {
    try {
      await client.request('GET', p);
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  };
  const cr = (name: string): Promise<ClusterDNSObject> => get<ClusterDNSObject>(`${CLUSTERDNS_PATH}/${name}`);
  const condition = (status: ClusterDNSStatus | undefined, type: string): Condition | undefined => status?.conditions?.find((c) => c.type === type);
  const apply = (name: string, spec: Record<string, unknown>, labelled = true): Promise<string> => kubectlOk(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS',
    metadata: { name, labels: labelled ? { [SUITE_LABEL]: ns } : {} },
    spec,
  }));
  const patchSpec = (name: string, spec: Record<string, unknown>): Promise<string> => kubectlOk(['patch', 'cdns', name, '--type=merge', '-p', JSON.stringify({ spec })]);
  const waitAvailable = (name: string, ready: number): Promise<ClusterDNSObject> => eventually(async () => {
    const object = await cr(name);
    assert.equal(condition(object.status, 'Available')?.status, 'True', `Available: ${JSON.stringify(object.status?.conditions)}`);
    assert.equal(object.status?.readyReplicas, ready);
    assert.equal(object.status.observedGeneration, object.metadata.generation);
    return object;
  }, { timeoutMs: 60_000, what: `${name} Available with ${ready} ready replicas` });

  before(async () => {
    await installCrd(controlPlane());
    // The cluster's own DNS, which every instance has as its baseline (routing.test.ts tests routing).
    await ensureBaseline(controlPlane());
    ns = await createNamespace('clusterdns-operator');
    rbac = await installRbac(controlPlane(), ns);
    operator = await OperatorProcess.start({ kubeconfig: rbac.operatorKubeconfig, namespace: ns, selector: `${SUITE_LABEL}=${ns}` });
  });

  after(async () => {
    await operator?.stop();
    for (const name of Object.values(names)) await kubectl(['delete', 'cdns', name, '--ignore-not-found', '--wait=false']);
    await rbac?.uninstall();
    if (ns) await kubectl(['delete', 'namespace', ns, '--wait=false']);
  });

  test('creates every child of a ClusterDNS and reports it Available once its pods are Ready on the nodes', async () => {
    await apply(names.a, { version: '0.1.0', clusterIP: IP_A, replicas: 2 });
    const object = await waitAvailable(names.a, 2);
    assert.deepEqual({ ...object.status, conditions: undefined }, {
      observedGeneration: 1, clusterIP: IP_A, serviceName: names.a, version: '0.1.0', replicas: 2, readyReplicas: 2,
      serving: 'Instance', injectedPods: 0, conditions: undefined,
    });
    assert.deepEqual(object.status?.conditions?.map((c) => `${c.type}=${c.status}/${c.reason}`),
      ['Available=True/ReplicasReady', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected', 'Serving=True/InstanceReady']);

    const deployment = await get<Deployment>(path('deployments', names.a));
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0]!;
    assert.equal(container.image, 'ghcr.io/clusterdns/clusterdns:0.1.0');
    assert.deepEqual(container.args, ['resolver', '--config', '/etc/clusterdns/resolver.json']);
    assert.deepEqual(container.ports.map((p) => `${p.containerPort}/${p.protocol}`), ['1053/UDP', '1053/TCP', '8080/TCP', '8181/TCP', '9153/TCP']);
    assert.equal(container.livenessProbe?.httpGet?.path, '/health');
    assert.equal(container.readinessProbe?.httpGet?.path, '/ready');
    assert.deepEqual(container.securityContext, { allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
    assert.deepEqual([pod.dnsPolicy, pod.priorityClassName, pod.serviceAccountName], ['Default', 'system-cluster-critical', 'clusterdns-resolver']);
    assert.equal(deployment.spec.strategy.rollingUpdate?.maxUnavailable, 0);
    assert.equal(deployment.spec.template.metadata.labels?.['app.kubernetes.io/version'], '0.1.0');

    const service = await get<Service>(path('services', names.a));
    assert.equal(service.spec.clusterIP, IP_A);
    assert.deepEqual(service.spec.ports.map((p) => `${p.name} ${p.port}/${p.protocol}->${p.targetPort}`), ['dns 53/UDP->1053', 'dns-tcp 53/TCP->1053', 'metrics 9153/TCP->9153']);
    const config = await get<ConfigMap>(path('configmaps', names.a));
    assert.equal((JSON.parse(config.data?.['resolver.json'] ?? '{}') as { clusterDomain?: string }).clusterDomain, 'cluster.local');
    assert.ok(await exists(path('poddisruptionbudgets', names.a)));
    for (const child of [deployment, service, config]) {
      assert.deepEqual(child.metadata.ownerReferences?.map((o) => `${o.kind}/${o.name}/${o.controller}`), [`ClusterDNS/${names.a}/true`]);
      assert.equal(child.metadata.labels?.['app.kubernetes.io/managed-by'], 'clusterdns-operator');
    }

    const pods = (await get<{ items: Pod[] }>(`${path('pods')}?labelSelector=app.kubernetes.io/instance=${names.a}`)).items;
    assert.equal(pods.length, 2);
    for (const p of pods) {
      assert.match(p.spec.nodeName ?? '', /^kwok-node-/);
      assert.equal(p.status.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
    }
    const row = (await kubectlOk(['get', 'cdns', names.a, '--no-headers'])).trim().split(/\s+/);
    assert.deepEqual(row.slice(0, 7), [names.a, 'clusterdns', '0.1.0', IP_A, '2', 'Instance', 'True']);
    const events = await kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${names.a}`, '-o', 'jsonpath={.items[*].reason}']);
    assert.match(events, /Created/);
  });

  test('rolls out a new version and moves status.version only once every new pod is Ready', async () => {
    const statuses: Array<{ generation: number; status: ClusterDNSStatus | undefined }> = [];
    const stop = new AbortController();
    const watching = new Watcher({
      client, resource: { path: CLUSTERDNS_PATH, fieldSelector: `metadata.name=${names.a}` },
      shrink: (raw) => raw as unknown as ClusterDNSObject,
      onEvent: (event) => {
        const objects = event.type === 'restarted' ? event.objects : [event.object];
        for (const o of objects) statuses.push({ generation: o.metadata.generation, status: o.status });
      },
    }).run(stop.signal);
    try {
      await patchSpec(names.a, { version: '0.2.0' });
      const done = await eventually(async () => {
        const object = await cr(names.a);
        assert.equal(object.status?.version, '0.2.0');
        return object;
      }, { timeoutMs: 60_000, what: 'status.version 0.2.0' });
      await eventually(() => { assert.ok(statuses.some((s) => s.status?.version === '0.2.0')); });
      const ofNewGeneration = statuses.filter((s) => s.generation === done.metadata.generation && s.status?.observedGeneration === done.metadata.generation);
      const first = ofNewGeneration[0]?.status;
      assert.equal(first?.version, '0.1.0', 'while the rollout starts, status.version still says what runs');
      assert.equal(condition(first, 'Progressing')?.status, 'True');
      const firstNew = ofNewGeneration.find((s) => s.status?.version === '0.2.0')?.status;
      assert.equal(condition(firstNew, 'Progressing')?.reason, 'RolloutComplete');
      assert.equal(firstNew?.readyReplicas, 2);
      const versions = ofNewGeneration.map((s) => s.status?.version);
      assert.deepEqual(versions.slice(versions.indexOf('0.2.0')).filter((v) => v !== '0.2.0'), [], 'it never goes back');
    } finally {
      stop.abort();
      await watching;
    }
    await eventually(async () => {
      const pods = (await get<{ items: Pod[] }>(`${path('pods')}?labelSelector=app.kubernetes.io/instance=${names.a}`)).items;
      assert.deepEqual(pods.map((p) => p.spec.containers[0]?.image), ['ghcr.io/clusterdns/clusterdns:0.2.0', 'ghcr.io/clusterdns/clusterdns:0.2.0']);
    }, { timeoutMs: 60_000, what: 'only new pods left' });
  });

  test('puts back children that were deleted or edited by hand', async () => {
    const before = await get<Service>(path('services', names.a));
    const originalConfig = (await get<ConfigMap>(path('configmaps', names.a))).data;
    await kubectlOk(['delete', 'service', names.a, '-n', ns]);
    await kubectlOk(['patch', 'deployment', names.a, '-n', ns, '-p', JSON.stringify({ spec: { replicas: 5, template: { spec: { containers: [{ name: 'resolver', image: 'registry.example/other:1' }] } } } })]);
    await kubectlOk(['patch', 'configmap', names.a, '-n', ns, '-p', JSON.stringify({ data: { 'resolver.json': '{}' } })]);
    await kubectlOk(['label', 'poddisruptionbudget', names.a, '-n', ns, 'app.kubernetes.io/managed-by-']);
    await eventually(async () => {
      const service = await get<Service>(path('services', names.a));
      assert.notEqual(service.metadata.uid, before.metadata.uid, 'a new Service');
      assert.equal(service.spec.clusterIP, IP_A, 'at the same clusterIP');
      const deployment = await get<Deployment>(path('deployments', names.a));
      assert.equal(deployment.spec.replicas, 2);
      assert.equal(deployment.spec.template.spec.containers[0]?.image, 'ghcr.io/clusterdns/clusterdns:0.2.0');
      assert.deepEqual((await get<ConfigMap>(path('configmaps', names.a))).data, originalConfig);
      assert.equal((await get<{ metadata: Meta }>(path('poddisruptionbudgets', names.a))).metadata.labels?.['app.kubernetes.io/managed-by'], 'clusterdns-operator');
    }, { timeoutMs: 60_000, what: 'every child restored' });
    const reasons = await kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${names.a}`, '-o', 'jsonpath={.items[*].reason}']);
    assert.match(reasons, /Restored/);
    await waitAvailable(names.a, 2);
  });

  test('drops the PodDisruptionBudget at one replica and brings it back at two', async () => {
    await patchSpec(names.a, { replicas: 1 });
    await eventually(async () => { assert.equal(await exists(path('poddisruptionbudgets', names.a)), false); }, { timeoutMs: 30_000, what: 'PDB deleted' });
    await waitAvailable(names.a, 1);
    await patchSpec(names.a, { replicas: 2 });
    await eventually(async () => { assert.ok(await exists(path('poddisruptionbudgets', names.a))); }, { timeoutMs: 30_000, what: 'PDB back' });
    await waitAvailable(names.a, 2);
  });

  test('sends the apiserver no writes while nothing changes, however often it reconciles', async () => {
    await waitAvailable(names.a, 2);
    const reconciles = async (): Promise<number> => operator!.metric('controller_runtime_reconcile_total');
    const ownWrites = async (): Promise<number> => operator!.metric('clusterdns_operator_apiserver_writes_total', (l) => l['resource'] !== 'Event');
    // The apiserver counts these writes whoever makes them: let the last status writes settle,
    // and the namespaces earlier test files deleted be gone (the controllers that empty them
    // write EndpointSlices and Deployments meanwhile), before counting.
    await eventually(async () => {
      const terminating = await kubectlOk(['get', 'namespaces', '-o', 'jsonpath={range .items[?(@.status.phase=="Terminating")]}{.metadata.name} {end}']);
      assert.equal(terminating.trim(), '', 'namespaces still being deleted');
      const first = await apiserverOperatorWrites(controlPlane());
      await new Promise((resolve) => setTimeout(resolve, 3000));
      assert.equal(await apiserverOperatorWrites(controlPlane()), first);
    }, { timeoutMs: 120_000, what: 'writes to settle' });
    const before = { apiserver: await apiserverOperatorWrites(controlPlane()), own: await ownWrites(), reconciles: await reconciles() };
    // A change to metadata only wakes reconcile without changing what it should produce.
    for (let i = 0; i < 5; i++) await kubectlOk(['annotate', 'cdns', names.a, `test.clusterdns.io/poke=${i}`, '--overwrite']);
    await eventually(async () => { assert.ok((await reconciles()) >= before.reconciles + 5); }, { timeoutMs: 30_000, what: 'five reconciles' });
    await new Promise((resolve) => setTimeout(resolve, 2000));
    assert.equal(await apiserverOperatorWrites(controlPlane()) - before.apiserver, 0, 'the apiserver counted no writes to children or status');
    assert.equal(await ownWrites() - before.own, 0, 'the operator sent none');
  });

  test('reports a taken or out-of-range clusterIP as Degraded with the apiserver\'s reason, and breaks nothing else', async () => {
    await apply(names.taken, { version: '0.1.0', clusterIP: IP_A, replicas: 1 });
    await apply(names.outside, { version: '0.1.0', clusterIP: '10.200.0.1', replicas: 1 });
    const rows: Array<[string, RegExp]> = [[names.taken, /provided IP is already allocated/], [names.outside, /does not match the current range|not in the valid range/]];
    for (const [name, message] of rows) {
      await eventually(async () => {
        const status = (await cr(name)).status;
        const degraded = condition(status, 'Degraded');
        assert.equal(degraded?.status, 'True');
        assert.equal(degraded.reason, 'ClusterIPUnavailable');
        assert.match(degraded.message, message);
        assert.match(degraded.message, /Service/);
        assert.equal(condition(status, 'Available')?.reason, 'ServiceUnavailable');
        assert.equal(status?.clusterIP, undefined);
      }, { timeoutMs: 30_000, what: `${name} Degraded` });
    }
    const warnings = await kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${names.taken},type=Warning`, '-o', 'jsonpath={.items[*].reason}']);
    assert.match(warnings, /ClusterIPUnavailable/);
    assert.equal((await get<Service>(path('services', names.a))).spec.clusterIP, IP_A, 'the instance that holds the address keeps it');
    await waitAvailable(names.a, 2);
    await kubectlOk(['delete', 'cdns', names.taken, names.outside]);
  });

  test('leaves alone a ClusterDNS that its selector does not select', async () => {
    await apply(names.unselected, { version: '0.1.0', replicas: 1 }, false);
    await apply(names.selected, { version: '0.1.0', replicas: 1 });
    await waitAvailable(names.selected, 1);
    assert.equal(await exists(path('configmaps', names.unselected)), false);
    assert.equal((await cr(names.unselected)).status, undefined);
    await kubectlOk(['delete', 'cdns', names.unselected, names.selected]);
  });

  test('rides out an apiserver restart and converges on changes made after it', async () => {
    const plane = controlPlane();
    await plane.stopApiserver();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await plane.startApiserver();
    await patchSpec(names.a, { replicas: 3 });
    await kubectlOk(['delete', 'configmap', names.a, '-n', ns]);
    await waitAvailable(names.a, 3);
    await eventually(async () => { assert.ok(await exists(path('configmaps', names.a))); }, { timeoutMs: 60_000, what: 'ConfigMap back' });
    assert.equal(operator?.exitCode, undefined, 'the operator kept running');
  });

  test('lets the garbage collector remove the children with the ClusterDNS', async () => {
    await kubectlOk(['delete', 'cdns', names.a]);
    await eventually(async () => {
      for (const kind of ['configmaps', 'services', 'deployments', 'poddisruptionbudgets'] as const) assert.equal(await exists(path(kind, names.a)), false, kind);
    }, { timeoutMs: 60_000, what: 'children collected' });
  });
});
