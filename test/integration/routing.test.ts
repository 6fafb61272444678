/**
 * Routing on the real control plane with KWOK nodes, the operator (and its webhook) as a real
 * process under its RBAC, and the cluster's own DNS as the baseline (kube-system/kube-dns, real
 * pods and the EndpointSlice controller's slices): an instance's clusterIP has the instance's
 * endpoints while it is healthy, the baseline's while none of its pods is ready or it is rolled
 * back, never both at once, without a pod being touched; the webhook injects only into a
 * serving instance; a bad baseline is reported; a deleted instance keeps its Service and
 * clusterIP until its injected pods are gone, also across an operator restart.
 *
 * Pods become unready by their Ready condition, set through the status subresource: KWOK
 * makes a pod Ready once and then leaves its status alone.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { ClusterDNSStatus, Condition } from '../../src/api/clusterdns.ts';
import { CLUSTERDNS_PATH } from '../../src/api/names.ts';
import { retiredServiceName } from '../../src/controller/routing-render.ts';
import { KubeApiError } from '../../src/kube/client.ts';
import { ensureBaseline } from '../support/baseline.ts';
import { controlPlane, createNamespace, eventually, kubeClient, kubectl, kubectlOk } from '../support/cluster.ts';
import { OperatorProcess, SUITE_LABEL, apiserverOperatorWrites, installCrd, installRbac } from '../support/operator.ts';
import type { InstalledRbac } from '../support/operator.ts';
import { EndpointsRecorder, instancePods, readyAddresses, removeInstances, serviceSlices, setPodReady, startOperatorWithWebhook } from '../support/routing.ts';

interface ClusterDNSObject { metadata: { name: string; generation: number; finalizers?: string[] }; status?: ClusterDNSStatus }
interface StoredPod { metadata: { name: string; uid: string; labels?: Record<string, string> }; spec: { dnsConfig?: { nameservers?: string[] } } }
interface StoredService { metadata: { uid: string }; spec: { clusterIP: string; selector?: Record<string, string> } }

const run = randomBytes(3).toString('hex');
const names = { a: `rt-${run}-a`, lonely: `rt-${run}-lonely`, quick: `rt-${run}-quick`, move: `rt-${run}-move` };
const IP_A = '10.96.8.11';
const IP_QUICK = '10.96.8.12';
const IP_MOVED = '10.96.8.13';

describe('routing', () => {
  let ns = '';
  let apps = '';
  let rbac: InstalledRbac | undefined;
  let operator: OperatorProcess | undefined;
  let baseline: string[] = [];
  const client = kubeClient();
  const plane = controlPlane();
  const cr = (name: string): Promise<ClusterDNSObject> => client.request<ClusterDNSObject>('GET', `${CLUSTERDNS_PATH}/${name}`);
  const condition = (status: ClusterDNSStatus | undefined, type: string): Condition | undefined => status?.conditions?.find((c) => c.type === type);
  const apply = (name: string, spec: Record<string, unknown>): Promise<string> => kubectlOk(['apply', '-f', '-'], JSON.stringify({
    apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name, labels: { [SUITE_LABEL]: ns } }, spec,
  }));
  const patchSpec = (name: string, spec: Record<string, unknown>): Promise<string> => kubectlOk(['patch', 'cdns', name, '--type=merge', '-p', JSON.stringify({ spec })]);
  const service = (name: string): Promise<StoredService> => client.request<StoredService>('GET', `/api/v1/namespaces/${ns}/services/${name}`);
  const exists = async (path: string): Promise<boolean> => {
    try {
      await client.request('GET', path);
      return true;
    } catch (error) {
      if (error instanceof KubeApiError && error.status === 404) return false;
      throw error;
    }
  };
  const waitServing = (name: string, serving: string, reason: string, timeoutMs = 60_000): Promise<ClusterDNSObject> => eventually(async () => {
    const object = await cr(name);
    const c = condition(object.status, 'Serving');
    assert.equal(object.status?.serving, serving, `status.serving; Serving: ${JSON.stringify(c)}`);
    assert.equal(c?.reason, reason);
    return object;
  }, { timeoutMs, what: `${name} serving ${serving} (${reason})` });
  /** Waits until the Service's ready endpoints are exactly `addresses` and the selector is as routing leaves it. */
  const waitEndpoints = (name: string, addresses: readonly string[], selector: boolean): Promise<void> => eventually(async () => {
    assert.deepEqual(readyAddresses(await serviceSlices(client, ns, name)), [...addresses].sort());
    assert.equal(Object.keys((await service(name)).spec.selector ?? {}).length > 0, selector, `the Service ${selector ? 'has' : 'has no'} selector`);
  }, { timeoutMs: 30_000, what: `${name}'s endpoints ${addresses.join(', ')}` });
  const createInjected = async (instance: string, podName: string): Promise<{ pod: StoredPod; warnings: string }> => {
    const result = await kubectl(['create', '-n', apps, '-o', 'json', '-f', '-'], JSON.stringify({
      apiVersion: 'v1', kind: 'Pod', metadata: { name: podName, labels: { 'clusterdns.io/instance': instance } },
      spec: { containers: [{ name: 'app', image: 'registry.invalid/app:1' }], terminationGracePeriodSeconds: 0 },
    }));
    assert.equal(result.code, 0, result.stderr);
    return { pod: JSON.parse(result.stdout) as StoredPod, warnings: result.stderr };
  };
  const events = (name: string): Promise<string> => kubectlOk(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name}`, '-o', 'jsonpath={.items[*].reason}']);
  const ownWrites = (): Promise<number> => operator!.metric('clusterdns_operator_apiserver_writes_total', (l) => l['resource'] !== 'Event');

  before(async () => {
    await installCrd(plane);
    baseline = await ensureBaseline(plane);
    ns = await createNamespace('clusterdns-routing');
    apps = await createNamespace('routing-apps');
    rbac = await installRbac(plane, ns);
    operator = await startOperatorWithWebhook(plane, { kubeconfig: rbac.operatorKubeconfig, namespace: ns, selector: `${SUITE_LABEL}=${ns}` });
  });

  after(async () => {
    await operator?.stop();
    await removeInstances(plane, Object.values(names));
    await rbac?.uninstall();
    for (const namespace of [ns, apps]) if (namespace) await kubectl(['delete', 'namespace', namespace, '--wait=false']);
  });

  test('a healthy instance has only its own endpoints, the drain finalizer, and injects pods with a label', async () => {
    await apply(names.a, { version: '0.1.0', clusterIP: IP_A, replicas: 2 });
    const object = await waitServing(names.a, 'Instance', 'InstanceReady');
    assert.deepEqual(object.metadata.finalizers, ['clusterdns.io/drain']);
    const pods = await instancePods(client, ns, names.a);
    await waitEndpoints(names.a, pods.map((p) => p.ip), true);
    // The first fallback (no pod ready yet) left the operator's slice, turned to the instance's
    // endpoints; it goes once the controller's slice has a ready endpoint, a moment after the status.
    await eventually(async () => {
      const slices = await serviceSlices(client, ns, names.a);
      assert.deepEqual(slices.map((s) => s.managedBy), ['endpointslice-controller.k8s.io'], 'no slice of the operator while the instance serves');
    }, { what: 'the operator\'s slice gone' });
    const row = (await kubectlOk(['get', 'cdns', names.a, '--no-headers'])).trim().split(/\s+/);
    assert.deepEqual(row.slice(0, 7), [names.a, 'clusterdns', '0.1.0', IP_A, '2', 'Instance', 'True']);

    for (const podName of ['web-1', 'web-2']) {
      const { pod } = await createInjected(names.a, podName);
      assert.equal(pod.metadata.labels?.['clusterdns.io/injected-into'], names.a);
      assert.deepEqual(pod.spec.dnsConfig?.nameservers, [IP_A]);
    }
    await eventually(async () => { assert.equal((await cr(names.a)).status?.injectedPods, 2); }, { what: 'two injected pods counted' });
  });

  test('falls back to the baseline when none of its pods is ready, and back as soon as one is, never mixing the two', async () => {
    const pods = await instancePods(client, ns, names.a);
    const injectedBefore = (await client.request<{ items: StoredPod[] }>('GET', `/api/v1/namespaces/${apps}/pods`)).items;
    const switches = await operator!.metric('clusterdns_operator_serving_switches_total', (l) => l['name'] === names.a);
    const recorder = new EndpointsRecorder(client, ns, names.a);
    recorder.start();
    try {
      for (const pod of pods) await setPodReady(client, ns, pod.name, false);
      await waitServing(names.a, 'Baseline', 'FallbackNoReadyReplicas');
      await waitEndpoints(names.a, baseline, false);
      const slices = await serviceSlices(client, ns, names.a);
      assert.deepEqual(slices.map((s) => `${s.name} ${s.managedBy}`), [`${names.a}-routing clusterdns-operator`], 'only the operator\'s slice is left');
      assert.deepEqual(slices[0]?.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 53/UDP', 'dns-tcp 53/TCP'], 'named as the instance\'s Service names them, at the baseline\'s ports');
      const degraded = condition((await cr(names.a)).status, 'Available');
      assert.equal(degraded?.reason, 'NoReplicasReady');

      await setPodReady(client, ns, pods[0]!.name, true);
      await waitServing(names.a, 'Instance', 'InstanceReady');
      await waitEndpoints(names.a, [pods[0]!.ip], true);
      await eventually(async () => {
        assert.deepEqual((await serviceSlices(client, ns, names.a)).map((s) => s.managedBy), ['endpointslice-controller.k8s.io']);
      }, { what: 'the operator\'s slice gone' });
      assert.deepEqual(recorder.mixed(pods.map((p) => p.ip), baseline), [], 'no state of the Service held both the instance\'s and the baseline\'s endpoints');
    } finally {
      await recorder.close();
      for (const pod of pods) await setPodReady(client, ns, pod.name, true);
    }
    await waitEndpoints(names.a, pods.map((p) => p.ip), true);
    const injectedAfter = (await client.request<{ items: StoredPod[] }>('GET', `/api/v1/namespaces/${apps}/pods`)).items;
    assert.deepEqual(injectedAfter.map((p) => p.metadata.uid), injectedBefore.map((p) => p.metadata.uid), 'no injected pod was touched');
    assert.match(await events(names.a), /FallbackNoReadyReplicas.*InstanceReady|InstanceReady.*FallbackNoReadyReplicas/s);
    const switched = operator!.logs.split('\n').filter((l) => l.includes('switched')).join('\n');
    assert.equal(await operator!.metric('clusterdns_operator_serving_switches_total', (l) => l['name'] === names.a), switches + 2, `two switches counted:\n${switched}`);
  });

  test('rolls back to the baseline and forward again within seconds, without recreating or changing an injected pod', async () => {
    const pods = await instancePods(client, ns, names.a);
    const before = (await client.request<{ items: StoredPod[] }>('GET', `/api/v1/namespaces/${apps}/pods`)).items;
    const recorder = new EndpointsRecorder(client, ns, names.a);
    recorder.start();
    try {
      await patchSpec(names.a, { routing: 'Baseline' });
      const rolledBack = await waitServing(names.a, 'Baseline', 'RolledBack');
      assert.equal(rolledBack.status?.readyReplicas, 2, 'the instance\'s pods keep running');
      await waitEndpoints(names.a, baseline, false);
      await patchSpec(names.a, { routing: 'Instance' });
      await waitServing(names.a, 'Instance', 'InstanceReady');
      await waitEndpoints(names.a, pods.map((p) => p.ip), true);
      assert.deepEqual(recorder.mixed(pods.map((p) => p.ip), baseline), []);
    } finally {
      await recorder.close();
    }
    const after = (await client.request<{ items: StoredPod[] }>('GET', `/api/v1/namespaces/${apps}/pods`)).items;
    assert.deepEqual(after.map((p) => [p.metadata.name, p.metadata.uid, p.spec.dnsConfig]), before.map((p) => [p.metadata.name, p.metadata.uid, p.spec.dnsConfig]));
    assert.match(await events(names.a), /RolledBack/);
  });

  test('sends the apiserver no writes while nothing changes, serving the instance or the baseline', async () => {
    const reconciles = (): Promise<number> => operator!.metric('controller_runtime_reconcile_total');
    for (const routing of ['Instance', 'Baseline']) {
      await patchSpec(names.a, { routing });
      await waitServing(names.a, routing, routing === 'Instance' ? 'InstanceReady' : 'RolledBack');
      await eventually(async () => {
        const first = await apiserverOperatorWrites(plane);
        await new Promise((resolve) => setTimeout(resolve, 2000));
        assert.equal(await apiserverOperatorWrites(plane), first);
      }, { timeoutMs: 30_000, what: 'writes to settle' });
      const before = { apiserver: await apiserverOperatorWrites(plane), own: await ownWrites(), reconciles: await reconciles() };
      for (let i = 0; i < 5; i++) await kubectlOk(['annotate', 'cdns', names.a, `test.clusterdns.io/poke=${routing}-${i}`, '--overwrite']);
      await eventually(async () => { assert.ok((await reconciles()) >= before.reconciles + 5); }, { what: 'five reconciles' });
      await new Promise((resolve) => setTimeout(resolve, 2000));
      assert.equal(await apiserverOperatorWrites(plane) - before.apiserver, 0, `serving ${routing}: the apiserver counted no writes`);
      assert.equal(await ownWrites() - before.own, 0, `serving ${routing}: the operator sent none`);
    }
    await patchSpec(names.a, { routing: 'Instance' });
    await waitServing(names.a, 'Instance', 'InstanceReady');
  });

  test('an invalid baseline is Degraded naming spec.baseline.service; the instance serves itself; nobody serving means no injection', async () => {
    await apply(names.lonely, { version: '0.1.0', replicas: 1, baseline: { service: { namespace: apps, name: 'no-such-dns' } } });
    await eventually(async () => {
      const status = (await cr(names.lonely)).status;
      const degraded = condition(status, 'Degraded');
      assert.equal(degraded?.reason, 'InvalidBaseline');
      assert.match(degraded.message, new RegExp(`spec\\.baseline\\.service: Service ${apps}/no-such-dns does not exist`));
      assert.equal(status?.serving, 'Instance');
      assert.match(condition(status, 'Serving')?.message ?? '', /no fallback/);
    }, { timeoutMs: 60_000, what: 'Degraded, InvalidBaseline, serving itself' });
    const [pod] = await instancePods(client, ns, names.lonely);
    await waitEndpoints(names.lonely, [pod!.ip], true);

    await kubectlOk(['create', 'service', 'clusterip', 'web', '-n', apps, '--tcp=80:8080']);
    await patchSpec(names.lonely, { baseline: { service: { namespace: apps, name: 'web' } } });
    await eventually(async () => {
      assert.match(condition((await cr(names.lonely)).status, 'Degraded')?.message ?? '', /spec\.baseline\.service: Service .*\/web has no DNS port 53\/UDP or 53\/TCP \(its ports: 80\/TCP\)/);
    }, { what: 'a baseline without DNS ports' });

    await setPodReady(client, ns, pod!.name, false);
    await waitServing(names.lonely, 'None', 'NoReadyEndpoints');
    const { pod: untouched, warnings } = await createInjected(names.lonely, 'not-injected');
    assert.equal(untouched.spec.dnsConfig, undefined, 'the pod keeps the cluster DNS');
    assert.equal(untouched.metadata.labels?.['clusterdns.io/injected-into'], undefined);
    assert.match(warnings, new RegExp(`Warning: clusterdns: ClusterDNS ${names.lonely} is not serving: neither its own pods nor its baseline has a ready endpoint`));
    await kubectlOk(['delete', 'pod', 'not-injected', '-n', apps, '--wait=false']);
    await kubectlOk(['delete', 'cdns', names.lonely]);
  });

  test('a new instance with no ready pod answers from the baseline, and with drain: Immediate goes at once', async () => {
    await apply(names.quick, { version: '0.1.0', clusterIP: IP_QUICK, replicas: 0, drain: 'Immediate' });
    await waitServing(names.quick, 'Baseline', 'FallbackNoReadyReplicas');
    await waitEndpoints(names.quick, baseline, false);
    await createInjected(names.quick, 'quick-1');
    await kubectlOk(['delete', 'cdns', names.quick, '--timeout=30s']);
    await eventually(async () => { assert.equal(await exists(`/api/v1/namespaces/${ns}/services/${names.quick}`), false); }, { what: 'the Service gone with it, the injected pod still there' });
    await kubectlOk(['delete', 'pod', 'quick-1', '-n', apps, '--wait=false']);
  });

  test('moving to a requested clusterIP keeps the old address answering, routed alike, while pods injected with it remain', async () => {
    await apply(names.move, { version: '0.1.0', replicas: 1 });
    const before = await waitServing(names.move, 'Instance', 'InstanceReady');
    const old = before.status?.clusterIP ?? '';
    assert.ok(old);
    const [pod] = await instancePods(client, ns, names.move);
    const { pod: injected } = await createInjected(names.move, 'mover');
    assert.deepEqual(injected.spec.dnsConfig?.nameservers, [old]);

    await patchSpec(names.move, { clusterIP: IP_MOVED });
    const retired = retiredServiceName(names.move, old);
    await eventually(async () => {
      assert.equal((await cr(names.move)).status?.clusterIP, IP_MOVED);
      assert.equal((await service(names.move)).spec.clusterIP, IP_MOVED);
      assert.equal((await service(retired)).spec.clusterIP, old, 'the old address is kept by the retired Service');
    }, { timeoutMs: 30_000, what: 'moved, the old address kept' });
    for (const name of [names.move, retired]) await waitEndpoints(name, [pod!.ip], true);
    assert.match(await events(names.move), /Recreated/);

    await patchSpec(names.move, { routing: 'Baseline' });
    for (const name of [names.move, retired]) await waitEndpoints(name, baseline, false);
    await patchSpec(names.move, { routing: 'Instance' });
    for (const name of [names.move, retired]) await waitEndpoints(name, [pod!.ip], true);

    await kubectlOk(['delete', 'pod', 'mover', '-n', apps]);
    await eventually(async () => { assert.equal(await exists(`/api/v1/namespaces/${ns}/services/${retired}`), false); }, { timeoutMs: 30_000, what: 'the retired Service released' });
    await eventually(async () => { assert.deepEqual(await serviceSlices(client, ns, retired), []); }, { what: 'its slices gone' });
    await kubectlOk(['create', 'service', 'clusterip', 'heir-of-moved', '-n', apps, '--tcp=53:53', `--clusterip=${old}`]);
    await kubectlOk(['delete', 'cdns', names.move]);
  });

  test('deleting an instance with injected pods keeps its Service and clusterIP until they are gone, across an operator restart', async (t) => {
    const began = Date.now();
    const timeline: string[] = [];
    const mark = (what: string): void => { timeline.push(`+${((Date.now() - began) / 1000).toFixed(1)}s ${what}`); };
    const serviceBefore = await service(names.a);
    await kubectlOk(['delete', 'cdns', names.a, '--wait=false']);
    mark('kubectl delete cdns (2 injected pods)');
    const draining = await eventually(async () => {
      const object = await cr(names.a);
      const c = condition(object.status, 'Draining');
      assert.equal(c?.status, 'True');
      assert.match(c.message, /waiting for 2 injected pods \(.*\/web-1, .*\/web-2\); its Service and clusterIP 10\.96\.8\.11 stay/);
      return object;
    }, { what: 'Draining with 2 pods' });
    mark('Draining: 2 pods left');
    assert.equal(draining.status?.serving, 'Baseline');
    assert.equal(condition(draining.status, 'Serving')?.reason, 'Draining');
    await waitEndpoints(names.a, baseline, false);
    mark('clusterIP answers from the baseline');
    assert.equal((await service(names.a)).metadata.uid, serviceBefore.metadata.uid, 'the same Service');

    const taken = await kubectl(['create', 'service', 'clusterip', 'thief', '-n', apps, '--tcp=53:53', `--clusterip=${IP_A}`]);
    assert.notEqual(taken.code, 0, 'no other Service can take the clusterIP meanwhile');
    assert.match(taken.stderr, /already allocated/);
    const { pod: late, warnings } = await createInjected(names.a, 'late');
    assert.equal(late.spec.dnsConfig, undefined);
    assert.match(warnings, /is being deleted/);
    await kubectlOk(['delete', 'pod', 'late', '-n', apps, '--wait=false']);

    await kubectlOk(['delete', 'pod', 'web-1', '-n', apps]);
    mark('deleted pod web-1');
    await eventually(async () => {
      assert.match(condition((await cr(names.a)).status, 'Draining')?.message ?? '', /waiting for 1 injected pod \(.*\/web-2\)/);
    }, { what: 'Draining with 1 pod' });
    mark('Draining: 1 pod left');

    await operator!.stop();
    mark('operator stopped');
    await kubectlOk(['delete', 'pod', 'web-2', '-n', apps]);
    mark('deleted pod web-2 while the operator was down');
    assert.ok(await exists(`${CLUSTERDNS_PATH}/${names.a}`), 'without the operator the ClusterDNS waits');
    assert.ok(await exists(`/api/v1/namespaces/${ns}/services/${names.a}`));
    // Without its webhook this time: nothing is injected any more, and /readyz marks the restart exactly.
    operator = await OperatorProcess.start({ kubeconfig: rbac!.operatorKubeconfig, namespace: ns, selector: `${SUITE_LABEL}=${ns}` });
    mark('operator started again (ready)');
    await eventually(async () => { assert.equal(await exists(`${CLUSTERDNS_PATH}/${names.a}`), false); }, { timeoutMs: 60_000, what: 'the ClusterDNS gone' });
    mark('ClusterDNS gone (finalizer removed)');
    await eventually(async () => {
      for (const path of [`/api/v1/namespaces/${ns}/services/${names.a}`, `/apis/apps/v1/namespaces/${ns}/deployments/${names.a}`, `/api/v1/namespaces/${ns}/configmaps/${names.a}`]) {
        assert.equal(await exists(path), false, path);
      }
      assert.deepEqual(await serviceSlices(client, ns, names.a), []);
    }, { timeoutMs: 60_000, what: 'children collected' });
    mark('Service, Deployment, ConfigMap and slices collected');
    await kubectlOk(['create', 'service', 'clusterip', 'heir', '-n', apps, '--tcp=53:53', `--clusterip=${IP_A}`]);
    mark('the clusterIP is free again');
    for (const line of timeline) t.diagnostic(line);
    assert.ok((await events(names.a)).includes('Drained'));
  });
});
