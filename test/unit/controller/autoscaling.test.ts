/**
 * The linear formula against cluster-proportional-autoscaler's own examples (its README and
 * the tables of linear_controller_test.go), the scale-down stabilization in virtual time, and
 * the Scaled condition that reports both.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { AutoscalingSpec } from '../../../src/api/clusterdns.ts';
import { linearReplicas, scaledCondition, stabilize } from '../../../src/controller/autoscaling.ts';
import type { StabilizerState } from '../../../src/controller/autoscaling.ts';
import type { ClusterSize } from '../../../src/controller/nodes.ts';

const params = (p: Partial<AutoscalingSpec>): AutoscalingSpec => ({ min: 1, max: 100, preventSinglePointFailure: false, includeUnschedulableNodes: false, ...p });
/** Every node schedulable. */
const size = (nodes: number, cores: number): ClusterSize => ({ nodes, cores, schedulableNodes: nodes, schedulableCores: cores });

describe('the linear formula', () => {
  test('the README\'s example: 4 nodes and 13 cores at 2 cores and 1 node per replica give 7', () => {
    const p = params({ coresPerReplica: 2, nodesPerReplica: 1, preventSinglePointFailure: true, includeUnschedulableNodes: true });
    assert.deepEqual(linearReplicas(p, size(4, 13)), { replicas: 7, nodes: 4, cores: 13, byCores: 7, byNodes: 4, rule: 'WithinRange' });
  });

  test('TestScaleFromSingleParam: 2 cores per replica, min 2', () => {
    const p = params({ coresPerReplica: 2, min: 2 });
    const rows: Array<[number, number]> = [[0, 2], [1, 2], [2, 2], [3, 2], [4, 2], [6, 3], [10, 5], [11, 6], [19, 10], [20, 10], [21, 11], [30, 15], [40, 20]];
    for (const [cores, replicas] of rows) assert.equal(linearReplicas(p, size(1, cores)).replicas, replicas, `${cores} cores`);
  });

  test('TestScaleFromMultipleParams: 2 cores or 2.5 nodes per replica, preventing a single point of failure', () => {
    const p = params({ coresPerReplica: 2, nodesPerReplica: 2.5, preventSinglePointFailure: true });
    const rows: Array<[number, number, number]> = [
      [0, 0, 1], [1, 2, 2], [2, 3, 2], [3, 4, 2], [4, 4, 2], [6, 4, 3], [6, 5, 3], [8, 5, 4],
      [8, 15, 6], [8, 16, 7], [19, 21, 10], [23, 20, 12], [26, 38, 16], [30, 49, 20], [40, 20, 20],
    ];
    for (const [cores, nodes, replicas] of rows) assert.equal(linearReplicas(p, size(nodes, cores)).replicas, replicas, `${cores} cores, ${nodes} nodes`);
  });

  test('TestScaleFromUnschedulableNodes: with includeUnschedulableNodes the totals count', () => {
    const p = params({ coresPerReplica: 2, nodesPerReplica: 2, preventSinglePointFailure: true, includeUnschedulableNodes: true });
    const rows: Array<[number, number, number, number, number]> = [
      [0, 0, 0, 0, 1], [1, 1, 1, 1, 1], [2, 2, 2, 2, 2], [4, 4, 4, 4, 2], [2, 2, 4, 4, 2], [8, 8, 8, 8, 4], [6, 6, 8, 8, 4], [21, 21, 210, 210, 100],
    ];
    for (const [schedulableCores, schedulableNodes, cores, nodes, replicas] of rows) {
      assert.equal(linearReplicas(p, { nodes, cores, schedulableNodes, schedulableCores }).replicas, replicas, `${cores} cores, ${nodes} nodes`);
    }
  });

  test('without includeUnschedulableNodes, only the schedulable nodes and their cores count', () => {
    const p = params({ coresPerReplica: 2, nodesPerReplica: 2 });
    assert.deepEqual(linearReplicas(p, { nodes: 10, cores: 40, schedulableNodes: 4, schedulableCores: 6 }),
      { replicas: 3, nodes: 4, cores: 6, byCores: 3, byNodes: 2, rule: 'WithinRange' });
  });

  test('kube-dns-autoscaler\'s parameters (256 cores or 16 nodes per replica, preventSinglePointFailure)', () => {
    const p = params({ coresPerReplica: 256, nodesPerReplica: 16, preventSinglePointFailure: true, includeUnschedulableNodes: true });
    const rows: Array<[number, number, number, string]> = [
      [1, 4, 1, 'WithinRange'], [2, 8, 2, 'PreventSinglePointFailure'], [16, 64, 2, 'PreventSinglePointFailure'],
      [17, 68, 2, 'WithinRange'], [100, 400, 7, 'WithinRange'], [10, 4096, 16, 'WithinRange'], [5000, 20_000, 100, 'AtMaximum'],
    ];
    for (const [nodes, cores, replicas, rule] of rows) {
      const result = linearReplicas(p, size(nodes, cores));
      assert.deepEqual([result.replicas, result.rule], [replicas, rule], `${nodes} nodes, ${cores} cores`);
    }
  });

  test('says which rule decided: the minimum, the maximum, or the single point of failure even above max', () => {
    assert.equal(linearReplicas(params({ nodesPerReplica: 10, min: 3 }), size(5, 0)).rule, 'AtMinimum');
    assert.deepEqual(linearReplicas(params({ nodesPerReplica: 1, max: 4 }), size(9, 0)), { replicas: 4, nodes: 9, cores: 0, byNodes: 9, rule: 'AtMaximum' });
    assert.deepEqual(linearReplicas(params({ coresPerReplica: 100, max: 1, preventSinglePointFailure: true }), size(3, 12)),
      { replicas: 2, nodes: 3, cores: 12, byCores: 1, rule: 'PreventSinglePointFailure' });
    assert.equal(linearReplicas(params({ nodesPerReplica: 1, preventSinglePointFailure: true }), size(1, 1)).replicas, 1, 'one node: one replica');
  });

  test('an extreme ratio stays within the bounds', () => {
    assert.equal(linearReplicas(params({ coresPerReplica: Number.MIN_VALUE }), size(1, 8)).replicas, 100);
    assert.equal(linearReplicas(params({ nodesPerReplica: Number.MAX_VALUE }), size(5000, 0)).replicas, 1);
  });
});

/** Feeds (time, recommendation) in order; returns the replicas after each. */
function run(rows: ReadonlyArray<readonly [number, number]>, windowMs: number): Array<[number, number | undefined]> {
  let state: StabilizerState | undefined;
  return rows.map(([at, recommended]) => {
    const result = stabilize(state, recommended, at, windowMs);
    state = result.state;
    return [result.replicas, result.holdUntil];
  });
}

describe('the scale-down stabilization', () => {
  test('follows a rise at once', () => {
    assert.deepEqual(run([[0, 2], [1000, 3], [2000, 5]], 60_000), [[2, undefined], [3, undefined], [5, undefined]]);
  });

  test('holds a fall until the higher figure has been gone for the whole window', () => {
    assert.deepEqual(run([[0, 3], [10_000, 2], [69_999, 2], [70_000, 2]], 60_000), [[3, undefined], [3, 70_000], [3, 70_000], [2, undefined]]);
  });

  test('measures the window from when the higher figure ended, not from when it began', () => {
    // 3 was asked for from 0 until 600 s (no reconcile in between: the inputs did not change).
    assert.deepEqual(run([[0, 3], [600_000, 2], [630_000, 2], [660_000, 2]], 60_000), [[3, undefined], [3, 660_000], [3, 660_000], [2, undefined]]);
  });

  test('a node that flaps every 20 s for ten minutes never takes a replica away, and the fall comes a window after it stops', () => {
    const rows: Array<[number, number]> = [];
    for (let t = 0; t <= 600_000; t += 20_000) rows.push([t, (t / 20_000) % 2 === 0 ? 4 : 3]);
    // It stays away from 620 s on: 4 was asked for until then.
    rows.push([620_000, 3], [679_999, 3], [680_000, 3]);
    const replicas = run(rows, 60_000).map(([r]) => r);
    assert.deepEqual(replicas.slice(0, -1), replicas.slice(0, -1).map(() => 4));
    assert.equal(replicas.at(-1), 3);
  });

  test('steps down through the lower figures each a window after it ended', () => {
    assert.deepEqual(run([[0, 5], [1000, 4], [2000, 2], [61_000, 2], [62_000, 2]], 60_000),
      [[5, undefined], [5, 61_000], [5, 61_000], [4, 62_000], [2, undefined]]);
  });

  test('forgets lower figures that a later, higher one covers', () => {
    const { state } = [[0, 3], [1000, 2], [2000, 5], [3000, 1]].reduce<{ state?: StabilizerState }>(
      (acc, [at, r]) => ({ state: stabilize(acc.state, r!, at!, 60_000).state }), {});
    assert.deepEqual(state, { current: 1, earlier: [{ replicas: 5, until: 3000 }] });
  });

  test('with a window of 0, follows the formula both ways', () => {
    assert.deepEqual(run([[0, 3], [1, 2], [2, 4]], 0), [[3, undefined], [2, undefined], [4, undefined]]);
  });
});

describe('the Scaled condition', () => {
  const p = params({ coresPerReplica: 256, nodesPerReplica: 16, preventSinglePointFailure: true, includeUnschedulableNodes: true });

  test('shows the formula with its inputs', () => {
    const result = linearReplicas(p, size(40, 160));
    assert.deepEqual(scaledCondition({ kind: 'computed', params: p, result, replicas: 3, windowMs: 300_000 }), {
      status: 'True', reason: 'WithinRange',
      message: '3 replicas for 40 nodes and 160 cores: ceil(40 / 16) = 3 by nodes, ceil(160 / 256) = 1 by cores, within min 1 and max 100',
    });
  });

  test('names the schedulable figures and the rule that decided', () => {
    const only = params({ nodesPerReplica: 4, min: 3 });
    const result = linearReplicas(only, { nodes: 9, cores: 36, schedulableNodes: 1, schedulableCores: 4 });
    assert.deepEqual(scaledCondition({ kind: 'computed', params: only, result, replicas: 3, windowMs: 300_000 }), {
      status: 'True', reason: 'AtMinimum', message: '3 replicas for 1 schedulable node and 4 schedulable cores: ceil(1 / 4) = 1 by nodes, raised to min 3',
    });
  });

  test('says when a scale-down is held, and until when', () => {
    const result = linearReplicas(p, size(1, 4));
    const condition = scaledCondition({ kind: 'computed', params: p, result, replicas: 2, windowMs: 300_000, holdUntil: Date.UTC(2026, 11, 1, 19, 30, 0) });
    assert.equal(condition.reason, 'ScaleDownStabilized');
    assert.equal(condition.message, 'holding 2 replicas until 2026-12-01T19:30:00Z, as the formula asked for that many within the last 300 s; '
      + 'it now asks for 1 replica for 1 node and 4 cores: ceil(1 / 16) = 1 by nodes, ceil(4 / 256) = 1 by cores, within min 1 and max 100');
  });

  test('is Unknown until the Nodes are listed', () => {
    assert.deepEqual(scaledCondition({ kind: 'nodesUnknown', replicas: 2 }), {
      status: 'Unknown', reason: 'NodesUnknown', message: 'the Nodes have not been listed yet (the operator needs list and watch on nodes); keeping 2 replicas',
    });
  });
});
