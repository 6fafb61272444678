/** The index: atomic relists, the ready gate, updates, deletes, and what a pod that is leaving keeps. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterIndex } from '../../../../src/resolver/cluster/cluster-index.ts';
import { shrinkEndpointSlice, shrinkPod, shrinkService } from '../../../../src/resolver/cluster/objects.ts';
import { pod, service, slice } from './fixture.ts';

describe('the index', () => {
  test('is synced once every watched kind was listed, and stays synced', () => {
    let now = 1_000_000;
    const index = new ClusterIndex(['services', 'endpointslices', 'namespaces'], () => now);
    index.applyServices({ type: 'restarted', objects: [] });
    index.applyNamespaces({ type: 'restarted', objects: [] });
    assert.equal(index.synced, false);
    now = 2_000_000;
    index.applySlices({ type: 'restarted', objects: [] });
    assert.equal(index.synced, true);
    assert.equal(index.serial, 2000, 'the SOA serial is the time of the last change');
    index.applySlices({ type: 'restarted', objects: [] });
    assert.equal(index.synced, true);
  });

  test('replaces a kind at once on a relist, and follows updates and deletes', () => {
    const index = new ClusterIndex(['services', 'endpointslices', 'namespaces']);
    const web = shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] }));
    const api = shrinkService(service('ns', 'api', { clusterIPs: ['10.0.0.2'], ports: [{ port: 80 }] }));
    index.applyServices({ type: 'restarted', objects: [web] });
    index.applyServices({ type: 'applied', object: api });
    assert.deepEqual(index.servicesWithIp('10.0.0.2').map((s) => s.name), ['api']);
    const moved = shrinkService(service('ns', 'api', { clusterIPs: ['10.0.0.3'], ports: [{ port: 80 }] }));
    index.applyServices({ type: 'applied', object: moved });
    assert.deepEqual([index.servicesWithIp('10.0.0.2').length, index.servicesWithIp('10.0.0.3').length], [0, 1]);
    index.applyServices({ type: 'restarted', objects: [api] });
    assert.equal(index.service('ns', 'web'), undefined);
    assert.equal(index.servicesWithIp('10.0.0.1').length, 0);
    index.applyServices({ type: 'deleted', object: api });
    assert.equal(index.counts.services, 0);
  });

  test('finds slices by service and by address, and moves a slice that changes service', () => {
    const index = new ClusterIndex(['endpointslices']);
    index.applySlices({ type: 'applied', object: shrinkEndpointSlice(slice('ns', 's1', 'web', 'IPv4', [{ addresses: ['10.1.0.1'] }])) });
    index.applySlices({ type: 'applied', object: shrinkEndpointSlice(slice('ns', 's1', 'api', 'IPv4', [{ addresses: ['10.1.0.2'] }])) });
    assert.equal(index.slicesOf('ns', 'web').length, 0);
    assert.deepEqual(index.slicesOf('ns', 'api').map((s) => s.name), ['s1']);
    assert.equal(index.slicesWithIp('10.1.0.1').length, 0);
    assert.equal(index.counts.addresses, 1);
  });

  test('keeps a terminating pod until it is deleted, and never adds one', () => {
    const index = new ClusterIndex(['pods']);
    index.applyPods({ type: 'restarted', objects: [shrinkPod(pod('ns', 'a', ['10.2.0.1'])), shrinkPod(pod('ns', 'b', ['10.2.0.2'], true))] });
    assert.deepEqual([index.podsWithIp('10.2.0.1').length, index.podsWithIp('10.2.0.2').length], [1, 0]);
    index.applyPods({ type: 'applied', object: shrinkPod(pod('ns', 'a', ['10.2.0.1'], true)) });
    assert.equal(index.podsWithIp('10.2.0.1').length, 1);
    index.applyPods({ type: 'deleted', object: shrinkPod(pod('ns', 'a', ['10.2.0.1'], true)) });
    assert.equal(index.podsWithIp('10.2.0.1').length, 0);
  });

  test('gives its content as the relist events that rebuild it in another thread', () => {
    const index = new ClusterIndex(['services', 'endpointslices', 'namespaces']);
    index.applyNamespaces({ type: 'restarted', objects: [{ name: 'ns' }] });
    index.applyServices({ type: 'restarted', objects: [shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] }))] });
    const copy = new ClusterIndex(['services', 'endpointslices', 'namespaces']);
    for (const { kind, event } of index.snapshot()) copy.apply(kind, event);
    assert.deepEqual(copy.counts, index.counts);
    assert.equal(copy.synced, false, 'endpointslices were never listed');
    assert.equal(copy.service('ns', 'web')?.clusterIPs[0], '10.0.0.1');
  });
});
