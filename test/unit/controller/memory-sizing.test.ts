/** The pods' resources without spec.resources: kubeadm's defaults, raised for a cluster too big for them. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import type { ClusterDNSSpec } from '../../../src/api/clusterdns.ts';
import { DEFAULT_RESOURCES, expectedMiB, podResources } from '../../../src/controller/memory-sizing.ts';
import type { ClusterContents } from '../../../src/controller/memory-sizing.ts';

const specOf = (spec: Record<string, unknown> = {}): ClusterDNSSpec => {
  const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'dns' }, spec: { version: '1.12.0', ...spec } });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value.spec;
};
/** `services` Services with one EndpointSlice of `perSlice` endpoints each, and as many pods as endpoints. */
const cluster = (services: number, perSlice = 5): ClusterContents =>
  ({ services, endpointSlices: services, endpoints: services * perSlice, pods: services * perSlice });
const limitMiB = (resources: ReturnType<typeof podResources>): number => Number.parseInt(String(resources.limits?.['memory']), 10);
const requestMiB = (resources: ReturnType<typeof podResources>): number => Number.parseInt(String(resources.requests?.['memory']), 10);

describe('the pods\' resources without spec.resources', () => {
  test('are kubeadm\'s CoreDNS figures while the cluster fits in them (50,000 Services of 5 endpoints do)', () => {
    for (const services of [0, 10_000, 50_000]) assert.deepEqual(podResources(specOf(), cluster(services)), DEFAULT_RESOURCES, `${services} Services`);
  });

  test('rise for 100,000 Services of 5 endpoints: a request of what a pod holds, a limit a quarter above, in steps of 32 MiB', () => {
    const resources = podResources(specOf(), cluster(100_000));
    // 61 + 16 (cache) + 8 (TCP) + 16 + 22 + 20 (index) = 143 MiB, and 15 % for the garbage collector: 164 MiB.
    assert.equal(Math.round(expectedMiB(specOf(), cluster(100_000))), 164);
    assert.deepEqual(resources, { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '224Mi' } });
  });

  test('size CoreDNS by its own, larger, cost per object: 50,000 Services already need more than 170Mi', () => {
    const coredns = specOf({ engine: 'coredns', version: '1.12.0' });
    // 54 MiB + 2 MiB per 1,000 of the 300,000 Services and endpoints: 654 MiB, a limit a quarter above.
    assert.deepEqual(podResources(coredns, cluster(50_000)), { requests: { cpu: '100m', memory: '672Mi' }, limits: { memory: '832Mi' } });
    assert.deepEqual(podResources(coredns, cluster(5_000)), DEFAULT_RESOURCES);
  });

  test('count the cluster\'s Pods only when the resolver holds them (pods: verified)', () => {
    const many = { ...cluster(50_000), pods: 1_000_000 };
    assert.deepEqual(podResources(specOf({ pods: 'insecure' }), many), DEFAULT_RESOURCES);
    assert.ok(limitMiB(podResources(specOf({ pods: 'verified' }), many)) > 170);
  });

  test('leave room for a larger upstream cache (spec.upstream.cacheMiB)', () => {
    const small = expectedMiB(specOf(), cluster(10_000));
    const big = expectedMiB(specOf({ upstream: { cacheMiB: 512 } }), cluster(10_000));
    assert.ok(Math.abs(big - small - 496 * 1.15) < 1e-6, `${big} - ${small}`);
    assert.equal(limitMiB(podResources(specOf({ upstream: { cacheMiB: 512 } }), cluster(10_000))), 864);
  });

  test('never give a limit below what a pod is expected to hold, nor fall as the cluster grows', () => {
    let previous = 0;
    for (let services = 0; services <= 1_000_000; services += 12_345) {
      for (const engine of ['clusterdns', 'coredns'] as const) {
        const spec = specOf({ engine });
        const resources = podResources(spec, cluster(services));
        assert.ok(limitMiB(resources) >= expectedMiB(spec, cluster(services)) * 1.25, `${engine} at ${services}`);
        assert.ok(requestMiB(resources) <= limitMiB(resources));
      }
      const limit = limitMiB(podResources(specOf(), cluster(services)));
      assert.ok(limit >= previous, `${services} Services: ${limit}Mi after ${previous}Mi`);
      previous = limit;
    }
  });

  test('are spec.resources as they are when set, whatever the cluster', () => {
    const resources = { limits: { memory: '100Mi' }, requests: { cpu: 1 } };
    assert.deepEqual(podResources(specOf({ resources }), cluster(1_000_000)), resources);
  });

  test('without a count of the cluster, stay as the Deployment has them: a failed count never shrinks a sized limit', () => {
    const live = { requests: { cpu: '100m', memory: '192Mi' }, limits: { memory: '224Mi' } };
    assert.deepEqual(podResources(specOf(), undefined, live), live);
    assert.deepEqual(podResources(specOf(), undefined), DEFAULT_RESOURCES);
    assert.deepEqual(podResources(specOf(), cluster(10), live), DEFAULT_RESOURCES, 'a count decides again');
  });
});
