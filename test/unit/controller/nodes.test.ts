/** Nodes shrunk to what the formula reads, CPU quantities, and the counting of kube-dns-autoscaler. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { clusterSize, milliValue, nodeFingerprint, shrinkNode } from '../../../src/controller/nodes.ts';
import type { NodeSize } from '../../../src/controller/nodes.ts';

const node = (name: string, cpu: string, extra: { unschedulable?: boolean; ready?: boolean } = {}): NodeSize =>
  ({ name, milliCPU: milliValue(cpu), unschedulable: extra.unschedulable ?? false, ready: extra.ready ?? true });

describe('the Node cache', () => {
  test('keeps only the name, the cordon, readiness and allocatable CPU (not capacity, labels or images)', () => {
    const raw = {
      metadata: { name: 'n1', resourceVersion: '7', labels: { 'kubernetes.io/hostname': 'n1' }, annotations: { a: 'b' } },
      spec: { unschedulable: true, taints: [{ key: 'k', effect: 'NoSchedule' }] },
      status: {
        capacity: { cpu: '8', memory: '32Gi' }, allocatable: { cpu: '7500m', memory: '30Gi' },
        conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }],
        images: [{ names: ['registry.example/big:1'], sizeBytes: 1 }],
      },
    };
    assert.deepEqual(shrinkNode(raw), { name: 'n1', unschedulable: true, ready: true, milliCPU: 7500 });
  });

  test('counts a node without status as not Ready and without CPU', () => {
    assert.deepEqual(shrinkNode({ metadata: { name: 'bare' } }), { name: 'bare', unschedulable: false, ready: false, milliCPU: 0 });
    assert.deepEqual(shrinkNode({ metadata: { name: 'x' }, status: { allocatable: { cpu: { not: 'a quantity' } }, conditions: [{ type: 'Ready', status: 'Unknown' }] } }),
      { name: 'x', unschedulable: false, ready: false, milliCPU: 0 });
  });

  test('reads CPU quantities in thousandths, rounding up as MilliValue does', () => {
    const rows: Array<[string | number, number]> = [
      ['4', 4000], [4, 4000], ['3500m', 3500], ['1.5', 1500], ['0.1', 100], ['.5', 500], ['2k', 2_000_000], ['1e3', 1_000_000],
      ['1Ki', 1_024_000], ['250001u', 251], ['1n', 1], ['+2', 2000], ['0', 0], ['1k', 1_000_000],
      ['-1', 0], ['', 0], ['lots', 0], ['1.5.5', 0], ['4 cores', 0], ['1e999', 0],
    ];
    for (const [quantity, milli] of rows) assert.equal(milliValue(quantity), milli, String(quantity));
  });

  test('counts every node for the totals and the Ready, uncordoned ones as schedulable, rounding cores up', () => {
    const nodes = [node('a', '3500m'), node('b', '2'), node('cordoned', '4', { unschedulable: true }), node('notready', '8', { ready: false })];
    assert.deepEqual(clusterSize(nodes), { nodes: 4, cores: 18, schedulableNodes: 2, schedulableCores: 6 });
    assert.deepEqual(clusterSize([]), { nodes: 0, cores: 0, schedulableNodes: 0, schedulableCores: 0 });
  });

  test('fingerprints only what the formula reads', () => {
    assert.equal(nodeFingerprint(node('a', '2')), nodeFingerprint(node('b', '2000m')));
    assert.notEqual(nodeFingerprint(node('a', '2')), nodeFingerprint(node('a', '3')));
    assert.notEqual(nodeFingerprint(node('a', '2')), nodeFingerprint(node('a', '2', { unschedulable: true })));
    assert.notEqual(nodeFingerprint(node('a', '2')), nodeFingerprint(node('a', '2', { ready: false })));
  });
});
