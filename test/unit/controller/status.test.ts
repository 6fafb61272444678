/** Status as a pure function of what reconcile observed; the events a change of it is worth. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { ClusterDNSStatus } from '../../../src/api/clusterdns.ts';
import type { DeploymentState } from '../../../src/controller/children.ts';
import { computeStatus, rolledOut, sameStatus, statusEvents } from '../../../src/controller/status.ts';
import type { StatusInput } from '../../../src/controller/status.ts';
import type { ServingDecision } from '../../../src/controller/routing.ts';

const t0 = new Date('2026-01-01T00:00:00.000Z');
const t1 = new Date('2026-01-01T00:05:00.000Z');

/** A Deployment of 2 replicas of 0.1.0, fully rolled out and ready. */
function deployment(overrides: Partial<DeploymentState> = {}): DeploymentState {
  return {
    generation: 1, observedGeneration: 1, wantedReplicas: 2, templateVersion: '0.1.0',
    replicas: 2, updatedReplicas: 2, readyReplicas: 2, availableReplicas: 2, conditions: [], ...overrides,
  };
}

function input(overrides: Partial<StatusInput> = {}): StatusInput {
  return {
    name: 'kube-dns-2', namespace: 'clusterdns-system', generation: 3, wantedReplicas: 2,
    serviceClusterIP: '10.96.0.20', deployment: deployment(), failures: [], ...overrides,
  };
}

/** "Type=Status/Reason" of each condition (of `types`: by default those of the instance's own health). */
function summary(status: ClusterDNSStatus, types: readonly string[] = ['Available', 'Progressing', 'Degraded', 'Scaled']): string[] {
  return (status.conditions ?? []).filter((c) => types.includes(c.type)).map((c) => `${c.type}=${c.status}/${c.reason}`);
}

describe('computeStatus', () => {
  test('a refused version says so in Degraded, naming spec.version, and that nothing was changed', () => {
    const status = computeStatus(input({ invalidSpec: 'spec.version 1.9.7 is not a CoreDNS release; the nearest are 1.9.4 and 1.10.0', invalidReason: 'UnknownVersion' }), undefined, t0);
    assert.equal(status.conditions?.find((c) => c.type === 'Degraded')?.message,
      'spec.version 1.9.7 is not a CoreDNS release; the nearest are 1.9.4 and 1.10.0; the children are left as they are');
    assert.equal(status.version, '0.1.0', 'status.version stays what runs');
  });

  test('a healthy instance is Available, not Progressing, not Degraded, and reports what runs', () => {
    const status = computeStatus(input(), undefined, t0);
    assert.deepEqual(summary(status), ['Available=True/ReplicasReady', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected']);
    assert.deepEqual({ ...status, conditions: undefined }, {
      observedGeneration: 3, clusterIP: '10.96.0.20', serviceName: 'kube-dns-2', version: '0.1.0', replicas: 2, readyReplicas: 2, conditions: undefined,
    });
    assert.equal(status.conditions?.[0]?.message, '2 of 2 replicas ready behind Service clusterdns-system/kube-dns-2 at 10.96.0.20');
    assert.ok(status.conditions.every((c) => c.observedGeneration === 3 && c.lastTransitionTime === '2026-01-01T00:00:00Z'));
  });

  const rows: Array<[string, Partial<StatusInput>, string[]]> = [
    ['a new instance whose Deployment does not exist yet is Progressing/Creating',
      { deployment: undefined }, ['Available=False/NoReplicasReady', 'Progressing=True/Creating', 'Degraded=False/AsExpected']],
    ['a new Deployment with no ready pod yet is not Available',
      { deployment: deployment({ readyReplicas: 0, availableReplicas: 0, updatedReplicas: 2 }) },
      ['Available=False/NoReplicasReady', 'Progressing=True/RollingOut', 'Degraded=False/AsExpected']],
    ['a rollout in progress stays Available while old pods serve',
      { deployment: deployment({ generation: 2, observedGeneration: 2, templateVersion: '0.2.0', replicas: 3, updatedReplicas: 1, readyReplicas: 2, availableReplicas: 2 }) },
      ['Available=True/ReplicasReady', 'Progressing=True/RollingOut', 'Degraded=False/AsExpected']],
    ['a taken clusterIP makes it Degraded/ClusterIPUnavailable and unavailable',
      { serviceClusterIP: undefined, failures: [{ kind: 'Service', name: 'kube-dns-2', reason: 'ClusterIPUnavailable', message: 'provided IP is already allocated' }] },
      ['Available=False/ServiceUnavailable', 'Progressing=False/RolloutComplete', 'Degraded=True/ClusterIPUnavailable']],
    ['a Deployment the apiserver refuses is Degraded/ApplyFailed and not progressing',
      { deployment: undefined, failures: [{ kind: 'Deployment', name: 'kube-dns-2', reason: 'ApplyFailed', message: 'forbidden' }] },
      ['Available=False/NoReplicasReady', 'Progressing=False/ApplyFailed', 'Degraded=True/ApplyFailed']],
    ['an invalid spec is Degraded/InvalidSpec; the old pods keep serving',
      { invalidSpec: 'spec.ttl: Too big', wantedReplicas: undefined },
      ['Available=True/ReplicasReady', 'Progressing=False/InvalidSpec', 'Degraded=True/InvalidSpec']],
    ['a CoreDNS release the operator does not run is Degraded/UnsupportedVersion; the old pods keep serving',
      { invalidSpec: 'spec.version 1.6.7 is older than ...', invalidReason: 'UnsupportedVersion', wantedReplicas: undefined },
      ['Available=True/ReplicasReady', 'Progressing=False/UnsupportedVersion', 'Degraded=True/UnsupportedVersion']],
    ['a CoreDNS version that is no release is Degraded/UnknownVersion',
      { invalidSpec: 'spec.version 1.9.7 is not a CoreDNS release', invalidReason: 'UnknownVersion', wantedReplicas: undefined },
      ['Available=True/ReplicasReady', 'Progressing=False/UnknownVersion', 'Degraded=True/UnknownVersion']],
    ['pods that cannot be created make it Degraded/ReplicaFailure',
      { deployment: deployment({ readyReplicas: 0, availableReplicas: 0, replicas: 0, updatedReplicas: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'serviceaccount "clusterdns-resolver" not found' }] }) },
      ['Available=False/NoReplicasReady', 'Progressing=True/RollingOut', 'Degraded=True/ReplicaFailure']],
    ['a rollout past its deadline is Degraded/RolloutStalled',
      { deployment: deployment({ updatedReplicas: 1, conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'ReplicaSet "x" has timed out progressing.' }] }) },
      ['Available=True/ReplicasReady', 'Progressing=False/RolloutStalled', 'Degraded=True/RolloutStalled']],
    ['zero replicas is not Available, by choice',
      { wantedReplicas: 0, deployment: deployment({ wantedReplicas: 0, replicas: 0, updatedReplicas: 0, readyReplicas: 0, availableReplicas: 0 }) },
      ['Available=False/ScaledToZero', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected']],
    ['a Service still waiting for its clusterIP is not Available',
      { serviceClusterIP: '' }, ['Available=False/ServiceUnavailable', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected']],
  ];
  for (const [title, overrides, expected] of rows) test(title, () => { assert.deepEqual(summary(computeStatus(input(overrides), undefined, t0)), expected); });

  test('the Degraded message carries the apiserver\'s words and names the child', () => {
    const status = computeStatus(input({ serviceClusterIP: undefined, failures: [{ kind: 'Service', name: 'kube-dns-2', reason: 'ClusterIPUnavailable', message: 'spec.clusterIPs: Invalid value: ["10.96.0.20"]: provided IP is already allocated' }] }), undefined, t0);
    assert.equal(status.conditions?.[2]?.message, 'Service clusterdns-system/kube-dns-2: spec.clusterIPs: Invalid value: ["10.96.0.20"]: provided IP is already allocated');
    assert.equal(status.clusterIP, undefined, 'no clusterIP is reported while the Service is missing');
  });

  test('status.version stays at the old version until every replica runs the new one and is ready', () => {
    const previous = computeStatus(input(), undefined, t0);
    const rolling = deployment({ generation: 2, observedGeneration: 2, templateVersion: '0.2.0', replicas: 3, updatedReplicas: 1, readyReplicas: 3, availableReplicas: 3 });
    assert.equal(computeStatus(input({ deployment: rolling }), previous, t1).version, '0.1.0');
    const notObserved = deployment({ generation: 2, observedGeneration: 1, templateVersion: '0.2.0' });
    assert.equal(computeStatus(input({ deployment: notObserved }), previous, t1).version, '0.1.0', 'not before the Deployment controller saw the new spec');
    const done = deployment({ generation: 2, observedGeneration: 2, templateVersion: '0.2.0' });
    assert.equal(computeStatus(input({ deployment: done }), previous, t1).version, '0.2.0');
  });

  test('keeps lastTransitionTime while a condition keeps its status, and moves it when the status changes', () => {
    const first = computeStatus(input(), undefined, t0);
    const same = computeStatus(input({ deployment: deployment({ readyReplicas: 1, availableReplicas: 1 }) }), first, t1);
    assert.equal(same.conditions?.[0]?.lastTransitionTime, '2026-01-01T00:00:00Z', 'Available stayed True');
    const lost = computeStatus(input({ deployment: deployment({ readyReplicas: 0, availableReplicas: 0 }) }), first, t1);
    assert.equal(lost.conditions?.[0]?.lastTransitionTime, '2026-01-01T00:05:00Z', 'Available turned False');
  });

  test('with spec.autoscaling, adds a Scaled condition with the formula\'s inputs; without, none', () => {
    assert.equal(computeStatus(input(), undefined, t0).conditions?.find((c) => c.type === 'Scaled'), undefined);
    const params = { nodesPerReplica: 16, min: 1, max: 100, preventSinglePointFailure: true, includeUnschedulableNodes: true };
    const result = { replicas: 2, nodes: 3, cores: 12, byNodes: 1, rule: 'PreventSinglePointFailure' } as const;
    const status = computeStatus(input({ scaling: { kind: 'computed', params, result, replicas: 2, windowMs: 300_000 } }), undefined, t0);
    assert.deepEqual(summary(status), ['Available=True/ReplicasReady', 'Progressing=False/RolloutComplete', 'Degraded=False/AsExpected', 'Scaled=True/PreventSinglePointFailure']);
    assert.match(status.conditions?.[3]?.message ?? '', /^2 replicas for 3 nodes and 12 cores: ceil\(3 \/ 16\) = 1 by nodes, raised to 2/);
    const unknown = computeStatus(input({ scaling: { kind: 'nodesUnknown', replicas: 2 } }), undefined, t0);
    assert.equal(summary(unknown)[3], 'Scaled=Unknown/NodesUnknown');
  });

  test('computing again from the same observations gives the same status (so nothing is written)', () => {
    const first = computeStatus(input(), undefined, t0);
    assert.ok(sameStatus(computeStatus(input(), first, t1), first));
    assert.ok(!sameStatus(computeStatus(input({ generation: 4 }), first, t1), first));
  });
});

describe('rolledOut', () => {
  const rows: Array<[string, Partial<DeploymentState>, boolean]> = [
    ['all replicas updated, available and no old ones', {}, true],
    ['the controller has not observed the latest generation', { generation: 2 }, false],
    ['fewer updated replicas than wanted', { updatedReplicas: 1 }, false],
    ['old replicas still exist', { replicas: 3 }, false],
    ['updated replicas not yet available', { availableReplicas: 1 }, false],
  ];
  for (const [title, overrides, expected] of rows) test(`${expected ? 'done' : 'not done'}: ${title}`, () => { assert.equal(rolledOut(deployment(overrides)), expected); });
});

describe('statusEvents', () => {
  const healthy = computeStatus(input(), undefined, t0);
  test('a new instance becoming available is one Normal event', () => {
    const creating = computeStatus(input({ deployment: undefined }), undefined, t0);
    assert.deepEqual(statusEvents(creating, healthy).map((e) => `${e.type} ${e.reason}`), ['Normal Available', 'Normal RolloutComplete']);
  });
  test('an unchanged status is worth no event', () => { assert.deepEqual(statusEvents(healthy, computeStatus(input(), healthy, t1)), []); });
  test('a new problem is a Warning with the condition\'s reason, and its end a Normal Recovered', () => {
    const broken = computeStatus(input({ serviceClusterIP: undefined, failures: [{ kind: 'Service', name: 'kube-dns-2', reason: 'ClusterIPUnavailable', message: 'taken' }] }), healthy, t1);
    assert.deepEqual(statusEvents(healthy, broken).map((e) => `${e.type} ${e.reason}`), ['Warning ServiceUnavailable', 'Warning ClusterIPUnavailable']);
    assert.deepEqual(statusEvents(broken, healthy).map((e) => `${e.type} ${e.reason}`), ['Normal Available', 'Normal Recovered']);
  });
});

describe('routing in status', () => {
  const instanceReady: ServingDecision = { serving: 'Instance', status: 'True', reason: 'InstanceReady', message: '2 ready replicas answer at 10.96.0.20' };
  const fallback: ServingDecision = { serving: 'Baseline', status: 'True', reason: 'FallbackNoReadyReplicas', message: 'none of the 2 replicas is ready' };
  const nobody: ServingDecision = { serving: 'None', status: 'False', reason: 'NoReadyEndpoints', message: 'nothing answers' };
  const serving = (status: ClusterDNSStatus): string[] => summary(status, ['Serving', 'Draining']);

  test('status.serving, status.injectedPods and the Serving condition say who answers', () => {
    const status = computeStatus(input({ serving: fallback, injectedPods: 12 }), undefined, t0);
    assert.equal(status.serving, 'Baseline');
    assert.equal(status.injectedPods, 12);
    assert.deepEqual(serving(status), ['Serving=True/FallbackNoReadyReplicas']);
  });

  test('without a decision (the baseline not listed yet) the previous one stands', () => {
    const previous = computeStatus(input({ serving: instanceReady, injectedPods: 3 }), undefined, t0);
    const held = computeStatus(input(), previous, t1);
    assert.deepEqual([held.serving, held.injectedPods, serving(held)], ['Instance', 3, ['Serving=True/InstanceReady']]);
    assert.deepEqual(serving(computeStatus(input(), undefined, t0)), ['Serving=Unknown/BaselineUnknown']);
  });

  test('without a clusterIP nobody answers, whatever routing decided', () => {
    const status = computeStatus(input({ serving: instanceReady, serviceClusterIP: '' }), undefined, t0);
    assert.deepEqual([status.serving, serving(status)], ['None', ['Serving=False/NoClusterIP']]);
  });

  test('an invalid baseline is Degraded/InvalidBaseline, naming the field; the instance still serves', () => {
    const status = computeStatus(input({ serving: instanceReady, invalidBaseline: 'spec.baseline.service: Service kube-system/kube-dns does not exist' }), undefined, t0);
    assert.deepEqual(summary(status), ['Available=True/ReplicasReady', 'Progressing=False/RolloutComplete', 'Degraded=True/InvalidBaseline']);
    assert.equal(status.conditions?.find((c) => c.type === 'Degraded')?.message,
      'spec.baseline.service: Service kube-system/kube-dns does not exist; the instance serves itself, with no fallback');
  });

  test('Draining appears only while deleted, and counts the pods down with a few of their names', () => {
    assert.deepEqual(serving(computeStatus(input({ serving: instanceReady }), undefined, t0)), ['Serving=True/InstanceReady']);
    const status = computeStatus(input({ serving: fallback, drain: { pods: 7, examples: ['shop/a', 'shop/b'] } }), undefined, t0);
    const draining = status.conditions?.find((c) => c.type === 'Draining');
    assert.equal(draining?.reason, 'WaitingForPods');
    assert.match(draining.message, /^waiting for 7 injected pods \(shop\/a, shop\/b, and 5 more\); its Service and clusterIP 10\.96\.0\.20 stay until none is left/);
    assert.match(draining.message, /kubectl get pods -A -l clusterdns.io\/injected-into=kube-dns-2/);
  });

  test('every switch of who serves is an event: a Warning when the instance stops answering by itself', () => {
    const healthy = computeStatus(input({ serving: instanceReady }), undefined, t0);
    const fell = computeStatus(input({ serving: fallback }), healthy, t1);
    const none = computeStatus(input({ serving: nobody }), fell, t1);
    const back = computeStatus(input({ serving: instanceReady }), none, t1);
    const servingEvents = (a: ClusterDNSStatus, b: ClusterDNSStatus): string[] => statusEvents(a, b).filter((e) => ['InstanceReady', 'FallbackNoReadyReplicas', 'NoReadyEndpoints'].includes(e.reason)).map((e) => `${e.type} ${e.reason}`);
    assert.deepEqual(servingEvents(healthy, fell), ['Warning FallbackNoReadyReplicas']);
    assert.deepEqual(servingEvents(fell, none), ['Warning NoReadyEndpoints']);
    assert.deepEqual(servingEvents(none, back), ['Normal InstanceReady']);
    assert.deepEqual(statusEvents(healthy, computeStatus(input({ serving: { ...instanceReady, message: '1 ready replica answers' } }), healthy, t1)), [], 'the same reason with new numbers is no switch');
    const creating = computeStatus(input({ serving: fallback }), undefined, t0);
    assert.deepEqual(statusEvents(undefined, creating).filter((e) => e.reason === 'FallbackNoReadyReplicas').map((e) => e.type), ['Normal'], 'a new instance starting on the baseline is no alarm');
  });

  test('a drain is one event when it begins, not one per pod', () => {
    const first = computeStatus(input({ serving: fallback, drain: { pods: 2, examples: ['a/b', 'a/c'] } }), undefined, t0);
    assert.deepEqual(statusEvents(computeStatus(input({ serving: fallback }), undefined, t0), first).filter((e) => e.reason === 'Draining').length, 1);
    const fewer = computeStatus(input({ serving: fallback, drain: { pods: 1, examples: ['a/c'] } }), first, t1);
    assert.deepEqual(statusEvents(first, fewer).filter((e) => e.reason === 'Draining'), []);
  });
});

describe('analysis in status', () => {
  const analysis = (status: 'True' | 'False' | 'Unknown', reason: 'AnswersMatch' | 'AnswersDiffer' | 'TooFewQueries', queries: number, mismatches: number) => ({
    status: { revision: 'k', since: '2026-01-01T00:00:00Z', queries, mismatches, intended: 0, errors: 0, ratio: queries ? mismatches / queries : 0 },
    condition: { status, reason, message: `${mismatches} of ${queries}` },
  });
  const answersMatch = (s: ClusterDNSStatus): string[] => summary(s, ['AnswersMatch']);

  test('status.analysis and AnswersMatch only with an analysis', () => {
    assert.deepEqual(answersMatch(computeStatus(input(), undefined, t0)), []);
    const status = computeStatus(input({ analysis: analysis('Unknown', 'TooFewQueries', 10, 0) }), undefined, t0);
    assert.deepEqual(answersMatch(status), ['AnswersMatch=Unknown/TooFewQueries']);
    assert.equal(status.analysis?.queries, 10);
    assert.equal(computeStatus(input(), status, t1).analysis, undefined, 'removing spec.analysis removes them');
  });

  test('a spec that cannot be read keeps them as they were', () => {
    const status = computeStatus(input({ analysis: analysis('False', 'AnswersDiffer', 200, 20) }), undefined, t0);
    const invalid = computeStatus(input({ invalidSpec: 'spec.ttl: too big' }), status, t1);
    assert.deepEqual([invalid.analysis, answersMatch(invalid)], [status.analysis, ['AnswersMatch=False/AnswersDiffer']]);
  });

  test('a verdict is an event when it is reached or changes, not at every new count', () => {
    const unknown = computeStatus(input({ analysis: analysis('Unknown', 'TooFewQueries', 10, 0) }), undefined, t0);
    const match = computeStatus(input({ analysis: analysis('True', 'AnswersMatch', 100, 0) }), unknown, t1);
    const more = computeStatus(input({ analysis: analysis('True', 'AnswersMatch', 200, 1) }), match, t1);
    const differ = computeStatus(input({ analysis: analysis('False', 'AnswersDiffer', 300, 30) }), more, t1);
    const of = (a: ClusterDNSStatus, b: ClusterDNSStatus): string[] => statusEvents(a, b).filter((e) => e.reason.startsWith('Answers')).map((e) => `${e.type} ${e.reason}`);
    assert.deepEqual(of(unknown, match), ['Normal AnswersMatch']);
    assert.deepEqual(of(match, more), []);
    assert.deepEqual(of(more, differ), ['Warning AnswersDiffer']);
  });

  test('the analysis rolling back is a Warning switch, with the Serving message that quotes the example', () => {
    const instance: ServingDecision = { serving: 'Instance', status: 'True', reason: 'InstanceReady', message: '2 ready replicas answer' };
    const rolled: ServingDecision = { serving: 'Baseline', status: 'True', reason: 'AnalysisRolledBack', message: '...; e.g. a. A: NXDOMAIN here, NOERROR 10.0.0.1 at the baseline' };
    const before = computeStatus(input({ serving: instance }), undefined, t0);
    const after = computeStatus(input({ serving: rolled }), before, t1);
    const event = statusEvents(before, after).find((e) => e.reason === 'AnalysisRolledBack');
    assert.equal(event?.type, 'Warning');
    assert.match(event.message, /e\.g\. a\. A: NXDOMAIN here/);
  });
});
