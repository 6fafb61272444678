/** The index: atomic relists, the ready gate, updates, deletes, and what a pod that is leaving keeps. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ClusterIndex, foldThreshold } from '../../../../src/resolver/cluster/cluster-index.ts';
import type { ServiceRecord } from '../../../../src/resolver/cluster/objects.ts';
import { shrinkEndpointSlice, shrinkPod, shrinkService } from '../../../../src/resolver/cluster/objects.ts';
import { pod, service, slice } from './fixture.ts';

describe('the index', () => {
  test('is synced once every watched kind was listed, and stays synced', () => {
    let now = 1_000_000;
    const index = new ClusterIndex(['services', 'endpointslices', 'namespaces'], { now: () => now });
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

  test('gives its content as the shared tables and changes that rebuild it in another thread', () => {
    const index = new ClusterIndex(['services', 'endpointslices', 'namespaces']);
    index.applyNamespaces({ type: 'restarted', objects: [{ name: 'ns' }] });
    index.applyServices({ type: 'restarted', objects: [shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] }))] });
    const api = shrinkService(service('ns', 'api', { clusterIPs: ['10.0.0.2'], ports: [{ port: 80 }] }));
    index.applyServices({ type: 'applied', object: api });
    index.applyServices({ type: 'deleted', object: shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] })) });
    const copy = new ClusterIndex(['services', 'endpointslices', 'namespaces']);
    for (const update of index.snapshot()) copy.apply(update);
    assert.deepEqual(copy.counts, index.counts);
    assert.equal(copy.synced, false, 'endpointslices were never listed');
    assert.equal(copy.service('ns', 'web'), undefined, 'a deletion over the table crosses too');
    assert.deepEqual(copy.servicesWithIp('10.0.0.2'), [api]);
  });

  test('answers the same whether objects came in a list or as changes over the list', () => {
    const services = [
      shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1'], ports: [{ port: 80, name: 'http' }] })),
      shrinkService(service('ns', 'db', { clusterIPs: ['None'], ports: [{ port: 5432 }] })),
      shrinkService(service('ünï', 'x', { type: 'ExternalName', externalName: 'Example.COM.' })),
    ];
    const slices = [
      shrinkEndpointSlice(slice('ns', 'db-1', 'db', 'IPv4', [{ addresses: ['10.1.0.1'], hostname: 'db-0' }, { addresses: ['10.1.0.2'] }])),
      shrinkEndpointSlice(slice('ns', 'db-2', 'db', 'IPv6', [{ addresses: ['fd00::1'] }])),
    ];
    const listed = new ClusterIndex(['services', 'endpointslices']);
    listed.applyServices({ type: 'restarted', objects: services });
    listed.applySlices({ type: 'restarted', objects: slices });
    const changed = new ClusterIndex(['services', 'endpointslices']);
    changed.applyServices({ type: 'restarted', objects: [] });
    changed.applySlices({ type: 'restarted', objects: [] });
    for (const object of services) changed.applyServices({ type: 'applied', object });
    for (const object of slices) changed.applySlices({ type: 'applied', object });
    for (const index of [listed, changed]) {
      assert.deepEqual(index.service('ns', 'web'), services[0]);
      assert.deepEqual(index.service('ünï', 'x'), services[2]);
      assert.deepEqual(index.slicesOf('ns', 'db'), slices);
      assert.deepEqual(index.slicesWithIp('fd00::1'), [slices[1]]);
      assert.deepEqual(index.counts, { services: 3, slices: 2, addresses: 3, namespaces: 0, pods: 0 });
      assert.equal(index.service('ns', 'nope'), undefined);
      assert.deepEqual(index.slicesOf('ns', 'web'), []);
    }
  });

  test('keeps records it decoded, and never serves one from a table it has swapped out', () => {
    const web = shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] }));
    const index = new ClusterIndex(['services']);
    index.applyServices({ type: 'restarted', objects: [web] });
    const first = index.service('ns', 'web');
    assert.equal(index.service('ns', 'web'), first, 'the same decoded object the second time');
    const moved = shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.9'], ports: [{ port: 80 }] }));
    index.applyServices({ type: 'restarted', objects: [moved] });
    assert.deepEqual(index.service('ns', 'web')?.clusterIPs, ['10.0.0.9']);
    assert.equal(index.servicesWithIp('10.0.0.1').length, 0);
  });

  test('folds many changes into a new table, passed on after the events it holds', async () => {
    const tables: Array<{ kind: string; listed: boolean; count: number }> = [];
    const index = new ClusterIndex(['services'], { folds: true, onTable: (u) => { tables.push({ kind: u.kind, listed: u.listed, count: u.table.count }); } });
    index.applyServices({ type: 'restarted', objects: [] });
    const named = (i: number): ServiceRecord => shrinkService(service('ns', `s${i}`, { clusterIPs: [`10.0.${i >> 8}.${i & 255}`], ports: [{ port: 80 }] }));
    for (let i = 0; i < foldThreshold(0) + 1; i++) index.applyServices({ type: 'applied', object: named(i) });
    index.applyServices({ type: 'deleted', object: named(0) });
    assert.deepEqual(tables, [{ kind: 'services', listed: true, count: 0 }], 'nothing is folded while the events are being passed on');
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(tables[1], { kind: 'services', listed: false, count: foldThreshold(0) });
    assert.equal(index.counts.services, foldThreshold(0));
    assert.equal(index.service('ns', 's0'), undefined);
    assert.equal(index.servicesWithIp('10.0.0.5')[0]?.name, 's5');
  });

  test('a thread that adopts a folded table drops the changes it had, and goes on from the table', () => {
    const web = shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1'], ports: [{ port: 80 }] }));
    const api = shrinkService(service('ns', 'api', { clusterIPs: ['10.0.0.2'], ports: [{ port: 80 }] }));
    const main = new ClusterIndex(['services']);
    main.applyServices({ type: 'restarted', objects: [web] });
    const folded = main.snapshot().find((u) => u.type === 'table');
    assert.ok(folded?.type === 'table');
    const thread = new ClusterIndex(['services']);
    thread.applyServices({ type: 'restarted', objects: [] });
    thread.applyServices({ type: 'applied', object: web });
    thread.applyServices({ type: 'applied', object: api });
    thread.apply({ ...folded, listed: false });
    assert.equal(thread.service('ns', 'api'), undefined, 'the table is the whole content');
    thread.applyServices({ type: 'deleted', object: web });
    assert.equal(thread.service('ns', 'web'), undefined);
    assert.equal(thread.servicesWithIp('10.0.0.1').length, 0);
    assert.equal(thread.counts.services, 0);
  });
});
