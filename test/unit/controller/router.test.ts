/** Router.plan: who serves, and the steps for each Service of an instance, from caches. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import type { ClusterDNS } from '../../../src/api/clusterdns.ts';
import { CHILD_KIND_ORDER } from '../../../src/controller/children.ts';
import type { Child, ChildKind } from '../../../src/controller/children.ts';
import type { InjectedPod, ResolverPod } from '../../../src/controller/pods.ts';
import { render } from '../../../src/controller/render.ts';
import { Router } from '../../../src/controller/router.ts';
import { retiredServiceName } from '../../../src/controller/routing-render.ts';
import { Store } from '../../../src/kube/store.ts';

const config = { namespace: 'clusterdns-system', imageRepository: 'ghcr.io/clusterdns/clusterdns', corednsImageRepository: 'registry.k8s.io/coredns/coredns' };
const NAME = 'kube-dns-2';

function clusterDNS(spec: Record<string, unknown> = {}): ClusterDNS {
  const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: NAME, uid: 'u' }, spec: { version: '0.1.0', clusterIP: '10.96.0.20', ...spec } });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

function store<T>(keyOf: (o: T) => string, objects: T[]): Store<T> {
  const s = new Store<T>(keyOf);
  s.apply({ type: 'restarted', objects });
  return s;
}

const service = (name: string, clusterIP: string, labels: Record<string, string> = {}): Child => ({
  kind: 'Service', namespace: config.namespace, name, uid: `uid-${name}`, resourceVersion: '1', labels: { 'app.kubernetes.io/instance': NAME, ...labels },
  annotations: {}, owners: [NAME], clusterIP, hasSelector: true,
});
const pod = (ready: boolean): ResolverPod => ({ namespace: config.namespace, name: 'p1', uid: 'pu', instance: NAME, ready, restarts: 0, ips: ['10.244.0.7'], nodeName: 'n1', revision: '' });
const injected = (nameserver: string): InjectedPod => ({ namespace: 'shop', name: `web-${nameserver}`, instance: NAME, nameserver, finished: false });

const NOW = Date.parse('2026-06-01T12:00:00Z');

function router(services: Child[], ready: boolean, baseline = true, pods: ResolverPod[] = [pod(ready)]): Router {
  const children = Object.fromEntries(CHILD_KIND_ORDER.map((kind) => [kind, store<Child>((c) => `${c.kind}/${c.namespace}/${c.name}`, kind === 'Service' ? services : [])])) as Record<ChildKind, Store<Child>>;
  return new Router({
    config, children,
    resolverPods: store<ResolverPod>((p) => p.name, pods),
    clock: { now: () => NOW, setTimer: () => ({ cancel: () => undefined }) },
    baselines: {
      snapshot: () => ({
        synced: true,
        service: baseline ? { namespace: 'kube-system', name: 'kube-dns', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] } : undefined,
        slices: [{ name: 's', serviceName: 'kube-dns', managedBy: 'x', addressType: 'IPv4', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }], ready: [{ addresses: ['10.244.9.53'] }] }],
      }),
    },
  });
}

describe('Router.plan', () => {
  const oldAddress = '10.96.33.3';
  const retired = service(retiredServiceName(NAME, oldAddress), oldAddress, { 'clusterdns.io/retired': 'true' });
  const unused = service(retiredServiceName(NAME, '10.96.44.4'), '10.96.44.4', { 'clusterdns.io/retired': 'true' });

  test('routes the main Service and every retired one still in use alike, and releases those no pod uses', () => {
    const cr = clusterDNS();
    const route = router([service(NAME, '10.96.0.20'), retired, unused], false).plan(cr, render(cr, config), false, [injected(oldAddress), injected('10.96.0.20')], false);
    assert.equal(route.decision?.reason, 'FallbackNoReadyReplicas');
    assert.deepEqual(route.fronts.map((f) => [f.service, f.retiredAddress, f.plan.selector, f.plan.own.kind]), [
      [NAME, undefined, false, 'apply'], [retired.name, oldAddress, false, 'apply'],
    ]);
    assert.deepEqual(route.release.map((s) => s.name), [unused.name]);
  });

  test('the desired children hold each Service as routed, the retired one at its old address', () => {
    const cr = clusterDNS();
    const rendered = render(cr, config);
    const r = router([service(NAME, '10.96.0.20'), retired], false);
    const desired = r.desired(cr, rendered, r.plan(cr, rendered, false, [injected(oldAddress)], false));
    const services = desired.filter((m) => m.kind === 'Service').map((m) => [m.metadata.name, (m['spec'] as { clusterIP?: string; selector?: object }).clusterIP, (m['spec'] as { selector?: object }).selector === undefined]);
    assert.deepEqual(services, [[NAME, '10.96.0.20', true], [retired.name, oldAddress, true]]);
  });

  test('after a fallback, a replica ready again after a restart gets the clusterIP back once it has settled, and says when to look again', () => {
    const cr = clusterDNS();
    const rendered = render(cr, config);
    const restarted = (readyFor: number): ResolverPod => ({ ...pod(true), restarts: 1, readySince: NOW - readyFor });
    const plan = (pods: ResolverPod[], fallingBack: boolean) => router([service(NAME, '10.96.0.20')], true, true, pods).plan(cr, rendered, false, [], fallingBack);
    const held = plan([restarted(2000)], true);
    assert.deepEqual([held.decision?.serving, held.decision?.reason, held.recheckAfterMs, held.fronts[0]?.plan.selector], ['Baseline', 'FallbackNoReadyReplicas', 3000, false]);
    assert.match(held.decision?.message ?? '', /^1 replica is ready again after a restart, for less than 5s: 10\.96\.0\.20 answers from the baseline kube-system\/kube-dns \(1 ready endpoint\) until one has stayed ready 5s$/);
    const settled = plan([restarted(5000)], true);
    assert.deepEqual([settled.decision?.serving, settled.recheckAfterMs], ['Instance', undefined]);
    const fresh = plan([{ ...pod(true), readySince: NOW - 10 }], true);
    assert.equal(fresh.decision?.serving, 'Instance', 'a pod that never restarted takes over as soon as it is ready');
    const serving = plan([restarted(2000)], false);
    assert.deepEqual([serving.decision?.serving, serving.recheckAfterMs], ['Instance', undefined], 'an instance that answers keeps answering');
  });

  test('an unusable baseline is reported, and the ready instance keeps its selector', () => {
    const cr = clusterDNS();
    const route = router([service(NAME, '10.96.0.20')], true, false).plan(cr, render(cr, config), false, [], false);
    assert.match(route.invalidBaseline ?? '', /^spec\.baseline\.service: Service kube-system\/kube-dns does not exist$/);
    assert.deepEqual([route.decision?.serving, route.fronts[0]?.plan.selector], ['Instance', true]);
  });
});
