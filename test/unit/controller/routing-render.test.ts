/** The routing parts of the children (pure), and what the operator reads of the pods it watches. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import type { ClusterDNS } from '../../../src/api/clusterdns.ts';
import { dependentPods, readyEndpoints, settledReplicas, shrinkInjectedPod, shrinkResolverPod } from '../../../src/controller/pods.ts';
import { RESOLVER_CONTAINER } from '../../../src/api/names.ts';
import { render } from '../../../src/controller/render.ts';
import type { Manifest } from '../../../src/controller/render.ts';
import { instancePorts, routedService, routingSlice } from '../../../src/controller/routing-render.ts';
import type { RawObject } from '../../../src/kube/watcher.ts';

const config = { namespace: 'clusterdns-system', imageRepository: 'ghcr.io/clusterdns/clusterdns', corednsImageRepository: 'registry.k8s.io/coredns/coredns' };

function clusterDNS(): ClusterDNS {
  const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'kube-dns-2', uid: 'u-1' }, spec: { version: '0.1.0', clusterIP: '10.96.0.20' } });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

describe('routing-render', () => {
  const children = render(clusterDNS(), config);
  const service = children.find((m) => m.kind === 'Service') as Manifest;

  test('the Service keeps its selector while the instance serves and has none while the baseline does, and is never mirrored', () => {
    assert.ok((routedService(service, true)['spec'] as Record<string, unknown>)['selector']);
    for (const selector of [true, false]) assert.equal(routedService(service, selector).metadata.labels['endpointslice.kubernetes.io/skip-mirror'], 'true');
    const without = routedService(service, false)['spec'] as Record<string, unknown>;
    assert.equal(without['selector'], undefined);
    assert.deepEqual(without['ports'], (service['spec'] as Record<string, unknown>)['ports'], 'everything else as rendered');
    assert.ok((service['spec'] as Record<string, unknown>)['selector'], 'the rendered Service is not changed');
  });

  test('the instance\'s endpoints have the Service\'s port names and target ports', () => {
    assert.deepEqual(instancePorts(children).map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 1053/UDP', 'dns-tcp 1053/TCP', 'metrics 9153/TCP']);
    const named = children.map((m) => (m.kind === 'Service'
      ? { ...m, spec: { ...(m['spec'] as object), ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }] } }
      : m));
    assert.deepEqual(instancePorts(named), [{ name: 'dns', port: 1053, protocol: 'UDP' }], 'a named target port is looked up in the pod template');
  });

  test('the operator\'s slice is labelled for kube-proxy and owned by the ClusterDNS, with sorted endpoints marked ready', () => {
    const slice = routingSlice(clusterDNS(), config, 'kube-dns-2', {
      serving: 'Baseline', addressType: 'IPv4', source: 'kube-system/kube-dns',
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
      endpoints: [{ addresses: ['10.244.1.9'], nodeName: 'n2' }, { addresses: ['10.244.0.9'] }],
    });
    assert.equal(slice.metadata.name, 'kube-dns-2-routing');
    assert.deepEqual(slice.metadata.labels, {
      'app.kubernetes.io/name': 'clusterdns', 'app.kubernetes.io/instance': 'kube-dns-2', 'app.kubernetes.io/version': '0.1.0',
      'app.kubernetes.io/managed-by': 'clusterdns-operator', 'kubernetes.io/service-name': 'kube-dns-2',
      'endpointslice.kubernetes.io/managed-by': 'clusterdns-operator', 'clusterdns.io/serving': 'Baseline',
    });
    assert.deepEqual(slice.metadata.annotations, { 'clusterdns.io/mirrors': 'kube-system/kube-dns' });
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', name: 'kube-dns-2', uid: 'u-1', controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual([slice.apiVersion, slice['addressType']], ['discovery.k8s.io/v1', 'IPv4']);
    assert.deepEqual(slice['endpoints'], [
      { addresses: ['10.244.0.9'], conditions: { ready: true, serving: true, terminating: false } },
      { addresses: ['10.244.1.9'], conditions: { ready: true, serving: true, terminating: false }, nodeName: 'n2' },
    ]);
  });
});

describe('the pods routing watches', () => {
  const resolver = (status: Record<string, unknown>, metadata: Record<string, unknown> = {}) => shrinkResolverPod({
    metadata: { namespace: 'clusterdns-system', name: 'kube-dns-2-abc', uid: 'u', labels: { 'app.kubernetes.io/instance': 'kube-dns-2' }, ...metadata },
    spec: { nodeName: 'n1' }, status,
  } as RawObject);
  const ready = { podIP: '10.244.0.7', podIPs: [{ ip: '10.244.0.7' }, { ip: 'fd00::7' }], conditions: [{ type: 'Ready', status: 'True' }] };

  test('a resolver pod is ready as the EndpointSlice controller sees it: Ready, with an address, not terminating', () => {
    assert.equal(resolver(ready).ready, true);
    assert.equal(resolver({ ...ready, conditions: [{ type: 'Ready', status: 'False' }] }).ready, false);
    assert.equal(resolver({ conditions: [{ type: 'Ready', status: 'True' }] }).ready, false, 'no address yet');
    assert.equal(resolver(ready, { deletionTimestamp: '2026-01-01T00:00:00Z' }).ready, false, 'terminating');
  });

  test('a resolver pod says since when it is ready and how often its resolver restarted', () => {
    const since = { ...ready, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: '2026-06-01T12:00:00Z' }], containerStatuses: [{ name: 'sidecar', restartCount: 9 }, { name: RESOLVER_CONTAINER, restartCount: 2 }] };
    assert.deepEqual([resolver(since).readySince, resolver(since).restarts], [Date.parse('2026-06-01T12:00:00Z'), 2]);
    assert.deepEqual([resolver(ready).readySince, resolver(ready).restarts], [undefined, 0], 'no transition time, no container status');
    assert.equal(resolver({ ...since, conditions: [{ type: 'Ready', status: 'False', lastTransitionTime: '2026-06-01T12:00:00Z' }] }).readySince, undefined, 'not ready');
  });

  test('a pod status that lies about its restarts or its transition time counts as a pod that never restarted', () => {
    const hostile = (restartCount: unknown, lastTransitionTime: unknown) => resolver({
      ...ready, conditions: [{ type: 'Ready', status: 'True', lastTransitionTime }], containerStatuses: [{ name: RESOLVER_CONTAINER, restartCount }],
    });
    for (const count of ['9', -3, Number.NaN, null, { n: 1 }]) assert.equal(hostile(count, '2026-06-01T12:00:00Z').restarts, 0, JSON.stringify(count));
    for (const time of ['yesterday', 42, '', null]) assert.equal(hostile(1, time).readySince, undefined, JSON.stringify(time));
  });

  test('a pod that restarted settles once it has stayed ready long enough; one that never did at once', () => {
    const now = Date.parse('2026-06-01T12:00:10Z');
    const pod = (name: string, restarts: number, readyFor: number | undefined, overrides: Record<string, unknown> = {}) => ({
      ...resolver(ready), name, restarts, ...(readyFor === undefined ? {} : { readySince: now - readyFor }), ...overrides,
    });
    const pods = [pod('fresh', 0, 100), pod('old', 3, 6000), pod('young', 1, 2000), pod('younger', 1, 1000), pod('down', 1, 9000, { ready: false }), pod('other', 1, 100, { instance: 'x' })];
    assert.deepEqual(settledReplicas(pods, 'kube-dns-2', now, 5000), { settled: 2, nextAt: now + 3000 });
    assert.deepEqual(settledReplicas([pod('unknown', 1, undefined)], 'kube-dns-2', now, 5000), { settled: 1 }, 'no transition time: settled');
  });

  test('ready endpoints are of one address family and point at their pod', () => {
    const pods = [resolver(ready), { ...resolver(ready), name: 'other', instance: 'other' }];
    assert.deepEqual(readyEndpoints(pods, 'kube-dns-2', 'IPv4'), [{ addresses: ['10.244.0.7'], nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'clusterdns-system', name: 'kube-dns-2-abc', uid: 'u' } }]);
    assert.deepEqual(readyEndpoints(pods, 'kube-dns-2', 'IPv6').map((e) => e.addresses), [['fd00::7']]);
  });

  test('an injected pod counts until it finished, with the nameserver it was given', () => {
    const pod = (phase: string, name = 'web-1') => shrinkInjectedPod({
      metadata: { namespace: 'shop', name, labels: { 'clusterdns.io/injected-into': 'kube-dns-2' } },
      spec: { dnsConfig: { nameservers: ['10.96.0.20'] } }, status: { phase },
    } as RawObject);
    assert.deepEqual(pod('Running'), { namespace: 'shop', name: 'web-1', instance: 'kube-dns-2', nameserver: '10.96.0.20', finished: false });
    const dependents = dependentPods([pod('Running', 'b'), pod('Succeeded', 'c'), pod('Pending', 'a'), { ...pod('Running', 'z'), instance: 'other' }], 'kube-dns-2');
    assert.deepEqual(dependents.map((p) => p.name), ['a', 'b']);
  });
});
