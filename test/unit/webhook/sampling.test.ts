/** Percent sampling: stable per workload, fair across many workloads. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { inSample, workloadKey } from '../../../src/webhook/sampling.ts';
import type { PodIdentity } from '../../../src/webhook/sampling.ts';

const pod = (extra: Partial<PodIdentity>): PodIdentity => ({ namespace: 'ns', name: '', generateName: '', ownerReferences: [], labels: {}, ...extra });

describe('workloadKey', () => {
  test('the pods of one ReplicaSet share a key', () => {
    const owner = [{ kind: 'ReplicaSet', name: 'cache', controller: true }];
    assert.equal(workloadKey(pod({ generateName: 'cache-', name: 'cache-abcde', ownerReferences: owner })), 'ns/ReplicaSet/cache');
    assert.equal(workloadKey(pod({ generateName: 'cache-', ownerReferences: owner })), 'ns/ReplicaSet/cache');
  });

  test('a Deployment keeps its key across rollouts (pod-template-hash is dropped)', () => {
    const v1 = pod({ ownerReferences: [{ kind: 'ReplicaSet', name: 'web-5d8f9c', controller: true }], labels: { 'pod-template-hash': '5d8f9c' } });
    const v2 = pod({ ownerReferences: [{ kind: 'ReplicaSet', name: 'web-77aa01', controller: true }], labels: { 'pod-template-hash': '77aa01' } });
    assert.equal(workloadKey(v1), 'ns/Deployment/web');
    assert.equal(workloadKey(v2), 'ns/Deployment/web');
  });

  test('the controlling owner wins over other owners', () => {
    const owners = [{ kind: 'Thing', name: 'x' }, { kind: 'StatefulSet', name: 'db', controller: true }];
    assert.equal(workloadKey(pod({ ownerReferences: owners })), 'ns/StatefulSet/db');
  });

  test('without an owner: generateName, then the name', () => {
    assert.equal(workloadKey(pod({ generateName: 'job-7-', name: 'job-7-xyz' })), 'ns/generateName/job-7-');
    assert.equal(workloadKey(pod({ name: 'solo' })), 'ns/Pod/solo');
  });

  test('the same names in two namespaces are two workloads', () => {
    assert.notEqual(workloadKey(pod({ namespace: 'a', name: 'solo' })), workloadKey(pod({ namespace: 'b', name: 'solo' })));
  });
});

describe('inSample', () => {
  test('0 and 100 are never and always', () => {
    assert.equal(inSample('a', 'ns/Pod/x', 0), false);
    assert.equal(inSample('a', 'ns/Pod/x', 100), true);
  });

  test('the same question always gets the same answer', () => {
    for (let i = 0; i < 100; i++) assert.equal(inSample('a', `ns/ReplicaSet/rs-${i}`, 37), inSample('a', `ns/ReplicaSet/rs-${i}`, 37));
  });

  test('a larger percent keeps every workload a smaller one had', () => {
    for (let i = 0; i < 500; i++) {
      if (inSample('a', `ns/Pod/p-${i}`, 20)) assert.ok(inSample('a', `ns/Pod/p-${i}`, 30), `p-${i}`);
    }
  });

  for (const percent of [5, 25, 50, 90]) {
    test(`over 20 000 workloads, ${percent}% are sampled within half a point`, () => {
      let hits = 0;
      for (let i = 0; i < 20_000; i++) if (inSample('kube-dns-2', `team-${i % 37}/ReplicaSet/app-${i}`, percent)) hits++;
      assert.ok(Math.abs((hits / 20_000) * 100 - percent) < 0.5, `${(hits / 200).toFixed(2)}%`);
    });
  }

  test('two instances sample independently', () => {
    let both = 0;
    for (let i = 0; i < 10_000; i++) if (inSample('a', `ns/Pod/${i}`, 50) && inSample('b', `ns/Pod/${i}`, 50)) both++;
    assert.ok(Math.abs(both / 10_000 - 0.25) < 0.02, String(both));
  });
});
