/** The replica planner: fixed replicas, the formula over the Node cache, and its memory, in virtual time. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import type { ClusterDNS } from '../../../src/api/clusterdns.ts';
import type { NodeSize } from '../../../src/controller/nodes.ts';
import { ReplicaPlanner } from '../../../src/controller/replicas.ts';
import { FakeClock } from '../../support/fake-clock.ts';

function clusterDNS(spec: Record<string, unknown>, name = 'kube-dns-2'): ClusterDNS {
  const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name }, spec: { version: '0.1.0', ...spec } });
  if (!parsed.ok) throw new Error(parsed.error);
  return parsed.value;
}

class Nodes {
  synced = true;
  items: NodeSize[] = [];
  list(): readonly NodeSize[] { return this.items; }
  set(count: number, milliCPU = 4000): void {
    this.items = Array.from({ length: count }, (_, i) => ({ name: `n${i}`, unschedulable: false, ready: true, milliCPU }));
  }
}

const WINDOW = 300_000;

function setup(): { clock: FakeClock; nodes: Nodes; planner: ReplicaPlanner } {
  const clock = new FakeClock(Date.UTC(2026, 11, 1, 19, 0, 0));
  const nodes = new Nodes();
  return { clock, nodes, planner: new ReplicaPlanner({ nodes, clock, downscaleStabilizationMs: WINDOW }) };
}

const perNode = clusterDNS({ autoscaling: { nodesPerReplica: 1, preventSinglePointFailure: false } });

describe('the replica planner', () => {
  test('gives a fixed spec.replicas, or 2 when neither replicas nor autoscaling is set, with no Scaled condition', () => {
    const { planner } = setup();
    assert.deepEqual(planner.plan(clusterDNS({ replicas: 5 }), 3), { replicas: 5 });
    assert.deepEqual(planner.plan(clusterDNS({}), undefined), { replicas: 2 });
    assert.deepEqual(planner.plan(clusterDNS({ replicas: 0 }), 2), { replicas: 0 });
  });

  test('computes the replicas from the Node cache and reports the inputs', () => {
    const { nodes, planner } = setup();
    nodes.set(12);
    const plan = planner.plan(clusterDNS({ autoscaling: { coresPerReplica: 8, nodesPerReplica: 4 } }), undefined);
    assert.equal(plan.replicas, 6);
    assert.equal(plan.requeueAfterMs, undefined);
    assert.equal(plan.scaling?.kind, 'computed');
    assert.deepEqual(plan.scaling.result, { replicas: 6, nodes: 12, cores: 48, byCores: 6, byNodes: 3, rule: 'WithinRange' });
  });

  test('scales up at once and holds a scale-down for the window, asking to be called when it falls due', () => {
    const { clock, nodes, planner } = setup();
    nodes.set(3);
    assert.equal(planner.plan(perNode, undefined).replicas, 3);
    nodes.set(5);
    clock.advance(2000);
    assert.equal(planner.plan(perNode, 3).replicas, 5);
    nodes.set(4);
    clock.advance(2000);
    const held = planner.plan(perNode, 5);
    assert.deepEqual([held.replicas, held.requeueAfterMs], [5, WINDOW]);
    clock.advance(WINDOW - 1);
    assert.equal(planner.plan(perNode, 5).replicas, 5);
    clock.advance(1);
    assert.equal(planner.plan(perNode, 5).replicas, 4);
    assert.equal(planner.plan(perNode, 4).requeueAfterMs, undefined);
  });

  test('says what it gave last time, so that a change can be reported', () => {
    const { nodes, planner } = setup();
    nodes.set(3);
    assert.equal(planner.plan(perNode, undefined).previousReplicas, undefined, 'nothing the first time');
    nodes.set(6);
    assert.deepEqual([planner.plan(perNode, 3).previousReplicas, planner.plan(perNode, 6).previousReplicas], [3, 6]);
  });

  test('keeps the Deployment steady while one node flaps every 30 s for an hour', () => {
    const { clock, nodes, planner } = setup();
    nodes.set(4);
    const applied = [planner.plan(perNode, undefined).replicas];
    for (let i = 1; i <= 120; i++) {
      clock.advance(30_000);
      nodes.set(i % 2 === 1 ? 3 : 4);
      applied.push(planner.plan(perNode, applied.at(-1)).replicas);
    }
    assert.deepEqual([...new Set(applied)], [4]);
  });

  test('applies a change of the parameters at once, even downwards', () => {
    const { clock, nodes, planner } = setup();
    nodes.set(8);
    assert.equal(planner.plan(perNode, undefined).replicas, 8);
    clock.advance(1000);
    assert.equal(planner.plan(clusterDNS({ autoscaling: { nodesPerReplica: 4, preventSinglePointFailure: false } }), 8).replicas, 2);
  });

  test('keeps the live replicas, as Unknown, while the Nodes are not listed', () => {
    const { nodes, planner } = setup();
    nodes.synced = false;
    assert.deepEqual(planner.plan(perNode, 7), { replicas: 7, scaling: { kind: 'nodesUnknown', replicas: 7 } });
    assert.deepEqual(planner.plan(clusterDNS({ autoscaling: { nodesPerReplica: 1, min: 3 } }), undefined), { replicas: 3, scaling: { kind: 'nodesUnknown', replicas: 3 } });
  });

  test('forgets an instance that is gone, and one that went back to fixed replicas', () => {
    const { clock, nodes, planner } = setup();
    nodes.set(5);
    planner.plan(perNode, undefined);
    nodes.set(2);
    clock.advance(1000);
    assert.equal(planner.plan(perNode, 5).replicas, 5, 'held');
    planner.forget('kube-dns-2');
    assert.equal(planner.plan(perNode, 5).replicas, 2, 'a new instance of the same name starts afresh');
    nodes.set(5);
    planner.plan(perNode, 2);
    planner.plan(clusterDNS({ replicas: 1 }), 5);
    nodes.set(2);
    assert.equal(planner.plan(perNode, 1).replicas, 2);
  });
});
