/** Routing as pure functions: the baseline as mirrored, who serves, and the steps of a switch. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { baselineView, decideServing, partitionSlices, planFront } from '../../../src/controller/routing.ts';
import type { BaselineInput, BaselineView, FrontObservation, ServingInput } from '../../../src/controller/routing.ts';
import { shrinkSlice } from '../../../src/controller/slices.ts';
import type { RawObject } from '../../../src/kube/watcher.ts';
import type { SliceContent, SliceState } from '../../../src/controller/slices.ts';

const dnsPorts = [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }, { name: 'metrics', port: 9153, protocol: 'TCP' }];

function slice(name: string, managedBy: string, ready: string[], extra: Partial<SliceState> = {}): SliceState {
  return { name, serviceName: 'kube-dns-2', managedBy, addressType: 'IPv4', ports: dnsPorts, ready: ready.map((a) => ({ addresses: [a] })), ...extra };
}

const baselineInput = (overrides: Partial<BaselineInput> = {}): BaselineInput => ({
  ref: 'kube-system/kube-dns', synced: true,
  service: { namespace: 'kube-system', name: 'kube-dns', ports: dnsPorts },
  slices: [slice('kube-dns-abcde', 'endpointslice-controller.k8s.io', ['10.244.0.53', '10.244.1.53'], { serviceName: 'kube-dns' })],
  family: 'IPv4', ownService: 'clusterdns-system/kube-dns-2', ...overrides,
});

describe('baselineView', () => {
  test('mirrors the ready endpoints at the baseline\'s DNS ports, named as the instance\'s Service names them', () => {
    const view = baselineView(baselineInput());
    assert.ok(view.kind === 'valid');
    assert.deepEqual(view.content, {
      serving: 'Baseline', addressType: 'IPv4', source: 'kube-system/kube-dns',
      ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.244.0.53'] }, { addresses: ['10.244.1.53'] }],
    });
  });

  test('follows the Service\'s port names to the slices\' target ports', () => {
    const view = baselineView(baselineInput({
      service: { namespace: 'kube-system', name: 'kube-dns', ports: [{ name: 'udp', port: 53, protocol: 'UDP' }, { name: 'tcp', port: 53, protocol: 'TCP' }] },
      slices: [slice('x', 'endpointslice-controller.k8s.io', ['10.244.0.53'], { serviceName: 'kube-dns', ports: [{ name: 'udp', port: 1053, protocol: 'UDP' }, { name: 'tcp', port: 1053, protocol: 'TCP' }] })],
    }));
    assert.deepEqual(view.kind === 'valid' && view.content.ports.map((p) => `${p.name} ${p.port}/${p.protocol}`), ['dns 1053/UDP', 'dns-tcp 1053/TCP']);
  });

  test('mirrors one set of ports only: the one with the most ready endpoints', () => {
    const view = baselineView(baselineInput({
      slices: [
        slice('a', 'x', ['10.0.0.1'], { ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5353, protocol: 'TCP' }] }),
        slice('b', 'x', ['10.0.0.2', '10.0.0.3']),
      ],
    }));
    assert.deepEqual(view.kind === 'valid' && view.content.endpoints.map((e) => e.addresses[0]), ['10.0.0.2', '10.0.0.3']);
  });

  test('leaves out slices of the other address family, and dedupes addresses across slices', () => {
    const view = baselineView(baselineInput({
      slices: [slice('v6', 'x', ['fd00::53'], { addressType: 'IPv6' }), slice('a', 'x', ['10.0.0.1']), slice('b', 'x', ['10.0.0.1'])],
    }));
    assert.deepEqual(view.kind === 'valid' && view.content.endpoints, [{ addresses: ['10.0.0.1'] }]);
  });

  const invalid: Array<[string, Partial<BaselineInput>, RegExp | string]> = [
    ['a Service that does not exist', { service: undefined }, 'spec.baseline.service: Service kube-system/kube-dns does not exist'],
    ['a Service without 53/TCP', { service: { namespace: 'kube-system', name: 'kube-dns', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }] } },
      'spec.baseline.service: Service kube-system/kube-dns has no DNS port 53/TCP (its ports: 53/UDP)'],
    ['a Service without DNS ports', { service: { namespace: 'kube-system', name: 'kube-dns', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } },
      'spec.baseline.service: Service kube-system/kube-dns has no DNS port 53/UDP or 53/TCP (its ports: 80/TCP)'],
    ['the instance\'s own Service', { ref: 'clusterdns-system/kube-dns-2' }, /is the instance's own Service/],
  ];
  for (const [title, overrides, message] of invalid) {
    test(`refuses ${title}, naming spec.baseline.service`, () => {
      const view = baselineView(baselineInput(overrides));
      assert.ok(view.kind === 'invalid');
      if (typeof message === 'string') assert.equal(view.message, message);
      else assert.match(view.message, message);
    });
  }

  test('is unknown until its watch has listed', () => { assert.deepEqual(baselineView(baselineInput({ synced: false })), { kind: 'unknown' }); });
  test('is valid with no endpoints when none is ready', () => {
    const view = baselineView(baselineInput({ slices: [] }));
    assert.equal(view.kind === 'valid' && view.content.endpoints.length, 0);
  });
});

const content = (serving: 'Instance' | 'Baseline', addresses: string[]): SliceContent => ({
  serving, addressType: 'IPv4', ports: [{ name: 'dns', port: serving === 'Instance' ? 1053 : 53, protocol: 'UDP' }], endpoints: addresses.map((a) => ({ addresses: [a] })),
});
const valid = (addresses: string[]): BaselineView => ({ kind: 'valid', content: content('Baseline', addresses) });

describe('decideServing', () => {
  const input = (overrides: Partial<ServingInput>): ServingInput => ({
    routing: 'Instance', draining: false, readyReplicas: 2, settledReplicas: 2, fallingBack: false, wantedReplicas: 2, baselineRef: 'kube-system/kube-dns',
    baseline: valid(['10.244.0.53']), clusterIP: '10.96.0.20', ...overrides,
  });
  const rows: Array<[string, Partial<ServingInput>, string | undefined, RegExp]> = [
    ['ready pods serve', {}, 'Instance True InstanceReady', /^2 ready replicas answer at 10\.96\.0\.20$/],
    ['no ready pod falls back to the baseline', { readyReplicas: 0 }, 'Baseline True FallbackNoReadyReplicas', /none of the 2 replicas is ready: 10\.96\.0\.20 answers from the baseline kube-system\/kube-dns \(1 ready endpoint\) until one is/],
    ['after a fallback, replicas that restarted and have not settled leave it to the baseline', { fallingBack: true, settledReplicas: 0 }, 'Baseline True FallbackNoReadyReplicas',
      /^2 replicas are ready again after a restart, for less than 5s: 10\.96\.0\.20 answers from the baseline kube-system\/kube-dns \(1 ready endpoint\) until one has stayed ready 5s$/],
    ['after a fallback, one settled replica takes the clusterIP back', { fallingBack: true, settledReplicas: 1 }, 'Instance True InstanceReady', /^2 ready replicas answer/],
    ['unsettled replicas keep answering when there is no fallback to go to', { fallingBack: true, settledReplicas: 0, baseline: valid([]) }, 'Instance True InstanceReady', /no fallback/],
    ['unsettled replicas of an instance that answers keep answering', { settledReplicas: 0 }, 'Instance True InstanceReady', /^2 ready replicas answer at 10\.96\.0\.20$/],
    ['routing Baseline is a rollback', { routing: 'Baseline' }, 'Baseline True RolledBack', /spec.routing is Baseline: .*the instance's pods get no traffic/],
    ['a drain answers from the baseline', { draining: true }, 'Baseline True Draining', /being deleted: .* until no injected pod is left/],
    ['a rollback to a baseline with no ready endpoint keeps the instance', { routing: 'Baseline', baseline: valid([]) }, 'Instance True BaselineUnavailable',
      /spec.routing is Baseline, but the baseline kube-system\/kube-dns has no ready endpoint: the instance's 2 ready replicas answer/],
    ['a drain with an invalid baseline keeps the instance', { draining: true, baseline: { kind: 'invalid', message: 'spec.baseline.service: gone' } }, 'Instance True BaselineUnavailable',
      /being deleted, but the baseline kube-system\/kube-dns cannot be used \(spec.baseline.service: gone\)/],
    ['an invalid baseline leaves the instance serving, without fallback', { baseline: { kind: 'invalid', message: 'spec.baseline.service: gone' } }, 'Instance True InstanceReady',
      /; no fallback: the baseline kube-system\/kube-dns cannot be used/],
    ['nobody ready anywhere is None', { readyReplicas: 0, baseline: valid([]) }, 'None False NoReadyEndpoints', /nothing answers at 10\.96\.0\.20: none of the 2 replicas is ready and the baseline .* has no ready endpoint/],
    ['an unlisted baseline holds everything', { baseline: { kind: 'unknown' } }, undefined, /^$/],
    ['the analysis rolls back to the baseline, saying why', { analysisRollback: 'the analysis rolled back at T: 9 of 100 differed' }, 'Baseline True AnalysisRolledBack',
      /10\.96\.0\.20 answers from the baseline kube-system\/kube-dns \(1 ready endpoint\); the instance's pods get no traffic: the analysis rolled back at T: 9 of 100 differed$/],
    ['an analysis rollback to a baseline with no ready endpoint keeps the instance', { analysisRollback: 'x', baseline: valid([]) }, 'Instance True BaselineUnavailable',
      /^the analysis rolled back, but the baseline kube-system\/kube-dns has no ready endpoint/],
    ['spec.routing Baseline says so, whatever the analysis did', { routing: 'Baseline', analysisRollback: 'x' }, 'Baseline True RolledBack', /^spec.routing is Baseline/],
    ['a drain says so, whatever the analysis did', { draining: true, analysisRollback: 'x' }, 'Baseline True Draining', /^being deleted/],
  ];
  for (const [title, overrides, expected, message] of rows) {
    test(title, () => {
      const decision = decideServing(input(overrides));
      assert.equal(decision && `${decision.serving} ${decision.status} ${decision.reason}`, expected);
      assert.match(decision?.message ?? '', message);
    });
  }
});

describe('planFront', () => {
  const instance = content('Instance', ['10.244.2.7']);
  const baseline = content('Baseline', ['10.244.0.53']);
  const observation = (overrides: Partial<FrontObservation>): FrontObservation => ({
    service: { hasSelector: true }, own: undefined, foreign: [slice('kube-dns-2-x1', 'endpointslice-controller.k8s.io', ['10.244.2.7'])],
    instance, baseline, ...overrides,
  });
  const own = (holds: string[]): SliceState => slice('kube-dns-2-routing', 'clusterdns-operator', holds);

  test('to the baseline from a healthy Service: copy the instance, drop the selector, delete the controller\'s slices, then mirror the baseline', () => {
    assert.deepEqual(planFront('Baseline', observation({})), {
      before: instance, selector: false, deleteSlices: ['kube-dns-2-x1'], deleteEndpoints: false, own: { kind: 'apply', content: baseline },
    });
  });

  test('to the baseline when no endpoint of the instance is ready: no copy, and the baseline only once the selector is gone', () => {
    const plan = planFront('Baseline', observation({ foreign: [slice('kube-dns-2-x1', 'endpointslice-controller.k8s.io', [])] }));
    assert.equal(plan.before, undefined);
    assert.deepEqual([plan.selector, plan.deleteSlices, plan.own], [false, ['kube-dns-2-x1'], { kind: 'apply', content: baseline }]);
  });

  test('serving the baseline and nothing changed: only the same slice again (which the apply memory skips)', () => {
    assert.deepEqual(planFront('Baseline', observation({ service: { hasSelector: false }, own: own(['10.244.0.53']), foreign: [] })), {
      selector: false, deleteSlices: [], deleteEndpoints: false, own: { kind: 'apply', content: baseline },
    });
  });

  test('serving the baseline, a mirrored slice of stale Endpoints appears: it and the Endpoints go', () => {
    const plan = planFront('Baseline', observation({ service: { hasSelector: false }, own: own(['10.244.0.53']), foreign: [slice('kube-dns-2-m', 'endpointslicemirroring-controller.k8s.io', ['10.244.2.7'])] }));
    assert.deepEqual([plan.deleteSlices, plan.deleteEndpoints, plan.before], [['kube-dns-2-m'], true, undefined]);
  });

  test('a new instance with no ready pod starts on the baseline, without a selector', () => {
    assert.deepEqual(planFront('Baseline', observation({ service: undefined, foreign: [], instance: content('Instance', []) })), {
      selector: false, deleteSlices: [], deleteEndpoints: false, own: { kind: 'apply', content: baseline },
    });
  });

  test('back to the instance: the slice turns to the instance\'s pods in one write, the selector returns, the slice bridges', () => {
    assert.deepEqual(planFront('Instance', observation({ service: { hasSelector: false }, own: own(['10.244.0.53']), foreign: [] })), {
      before: instance, selector: true, deleteSlices: [], deleteEndpoints: false, own: { kind: 'apply', content: instance },
    });
  });

  test('the bridge stays until the controller\'s slice has a ready endpoint, then goes', () => {
    const waiting = observation({ own: own(['10.244.2.7']), foreign: [slice('kube-dns-2-x2', 'endpointslice-controller.k8s.io', [])] });
    assert.deepEqual(planFront('Instance', waiting).own, { kind: 'apply', content: instance });
    assert.deepEqual(planFront('Instance', observation({ own: own(['10.244.2.7']) })).own, { kind: 'delete' });
  });

  test('a healthy instance without a slice of the operator needs nothing', () => {
    assert.deepEqual(planFront('Instance', observation({})), { selector: true, deleteSlices: [], deleteEndpoints: false, own: { kind: 'delete' } });
  });

  test('nobody to serve: the selector comes back (the pods serve by themselves once ready) and the slice goes', () => {
    const plan = planFront('None', observation({ own: own([]), foreign: [], instance: content('Instance', []), baseline: content('Baseline', []) }));
    assert.deepEqual([plan.selector, plan.own], [true, { kind: 'delete' }]);
  });

  test('holding still keeps the Service as it is', () => {
    assert.deepEqual(planFront(undefined, observation({ service: { hasSelector: false } })), { selector: false, deleteSlices: [], deleteEndpoints: false, own: { kind: 'keep' } });
    assert.equal(planFront(undefined, observation({ service: undefined })).selector, true);
  });
});

describe('partitionSlices and shrinkSlice', () => {
  test('tells the operator\'s slice from everyone else\'s, for one Service', () => {
    const slices = [
      slice('kube-dns-2-routing', 'clusterdns-operator', []),
      slice('kube-dns-2-x', 'endpointslice-controller.k8s.io', []),
      slice('other-x', 'endpointslice-controller.k8s.io', [], { serviceName: 'other' }),
    ];
    const { own, foreign } = partitionSlices(slices, 'kube-dns-2', 'kube-dns-2-routing');
    assert.equal(own?.name, 'kube-dns-2-routing');
    assert.deepEqual(foreign.map((s) => s.name), ['kube-dns-2-x']);
  });

  test('keeps ready endpoints only: ready true or unset, and not terminating', () => {
    const shrunk = shrinkSlice({
      metadata: { name: 's', labels: { 'kubernetes.io/service-name': 'svc', 'endpointslice.kubernetes.io/managed-by': 'm' } },
      addressType: 'IPv4', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: true }, nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'p', uid: 'u' } },
        { addresses: ['10.0.0.2'], conditions: {} },
        { addresses: ['10.0.0.3'], conditions: { ready: false } },
        { addresses: ['10.0.0.4'], conditions: { ready: true, terminating: true } },
        { addresses: [] },
      ],
    } as RawObject);
    assert.deepEqual(shrunk, {
      name: 's', serviceName: 'svc', managedBy: 'm', addressType: 'IPv4', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }],
      ready: [{ addresses: ['10.0.0.1'], nodeName: 'n1', targetRef: { kind: 'Pod', namespace: 'ns', name: 'p', uid: 'u' } }, { addresses: ['10.0.0.2'] }],
    });
  });
});
