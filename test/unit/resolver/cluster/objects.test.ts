/** Kubernetes objects shrunk on arrival to what answers need. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressLabel, shrinkEndpointSlice, shrinkPod, shrinkService } from '../../../../src/resolver/cluster/objects.ts';
import { raw, service, slice } from './fixture.ts';

describe('shrinking', () => {
  test('a Service keeps its kind, canonical cluster IPs and ports', () => {
    assert.deepEqual(shrinkService(service('ns', 'web', { clusterIPs: ['10.0.0.1', 'FD00:0:0::1'], ports: [{ name: 'http', port: 80 }] })), {
      namespace: 'ns', name: 'web', kind: 'clusterIP', clusterIPs: ['10.0.0.1', 'fd00::1'], externalName: '', ports: [{ name: 'http', port: 80, protocol: 'TCP' }],
    });
    assert.equal(shrinkService(service('ns', 'h', { clusterIPs: ['None'] })).kind, 'headless');
    const external = shrinkService(service('ns', 'e', { type: 'ExternalName', externalName: 'DB.Example.com.' }));
    assert.deepEqual([external.kind, external.externalName], ['externalName', 'db.example.com']);
    assert.deepEqual(shrinkService(service('ns', 'h', { clusterIPs: ['None'] })).ports, [{ name: '', port: -1, protocol: '' }], 'no ports: the "none" port');
  });

  test('an EndpointSlice keeps ready addresses with their hostname or dashed address, and the trigger time', () => {
    const object = slice('ns', 's', 'web', 'IPv6', [
      { addresses: ['fd00::1'], hostname: 'one' }, { addresses: ['fd00::2'], ready: null }, { addresses: ['fd00::3'], ready: false }, { addresses: ['fd00:1::'] },
    ], [{ name: 'http', port: 80 }]);
    (object['metadata'] as { annotations?: object }).annotations = { 'endpoints.kubernetes.io/last-change-trigger-time': '2024-01-01T00:00:00Z' };
    const shrunk = shrinkEndpointSlice(object);
    assert.deepEqual(shrunk.addresses, [{ ip: 'fd00::1', hostname: 'one' }, { ip: 'fd00::2', hostname: '' }, { ip: 'fd00:1::', hostname: '' }]);
    assert.deepEqual(shrunk.addresses.map(addressLabel), ['one', 'fd00--2', 'fd00-1--0']);
    assert.equal(shrunk.service, 'web');
    assert.equal(shrunk.triggerTime, Date.parse('2024-01-01T00:00:00Z'));
    const fqdn = shrinkEndpointSlice(raw({ metadata: { name: 'f', namespace: 'ns' }, addressType: 'FQDN', endpoints: [{ addresses: ['a.example'] }] }));
    assert.deepEqual(fqdn.addresses, [], 'FQDN slices answer nothing');
  });

  test('a Pod keeps its addresses and whether it is being deleted', () => {
    assert.deepEqual(shrinkPod(raw({ metadata: { name: 'p', namespace: 'ns', deletionTimestamp: '2024-01-01T00:00:00Z' }, status: { podIP: '10.0.0.9' } })), {
      namespace: 'ns', name: 'p', ips: ['10.0.0.9'], terminating: true,
    });
  });
});
