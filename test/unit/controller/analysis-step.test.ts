/**
 * The analysis as reconcile takes it: where the resolvers shadow the baseline and what the
 * baseline runs, and an engine coredns instance, which has nothing to collect.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseClusterDNS } from '../../../src/api/clusterdns.ts';
import type { ClusterDNS, Engine } from '../../../src/api/clusterdns.ts';
import type { TrackRequest } from '../../../src/controller/analysis-collector.ts';
import { analyse, shadowTarget } from '../../../src/controller/analysis-step.ts';
import type { AnalysisTracker } from '../../../src/controller/analysis-step.ts';
import { startAnalysis } from '../../../src/controller/analysis.ts';
import type { AnalysisState } from '../../../src/controller/analysis.ts';
import type { BaselineSnapshot } from '../../../src/controller/baselines.ts';
import { render } from '../../../src/controller/render.ts';

function clusterDNS(spec: Record<string, unknown>): ClusterDNS {
  const parsed = parseClusterDNS({ apiVersion: 'clusterdns.io/v1alpha1', kind: 'ClusterDNS', metadata: { name: 'canary', uid: 'u1' }, spec: { version: '0.1.0', ...spec } });
  assert.ok(parsed.ok, parsed.ok ? '' : parsed.error);
  return parsed.value;
}

const snapshot = (clusterIP?: string): BaselineSnapshot => ({
  synced: true, slices: [], service: { namespace: 'kube-system', name: 'kube-dns', ports: [], ...(clusterIP === undefined ? {} : { clusterIP }) },
});
const instances: Record<string, Engine> = { 'clusterdns-system/stable': 'clusterdns', 'clusterdns-system/old-coredns': 'coredns' };
const engineOf = (ref: string): Engine | undefined => instances[ref];

describe('shadowTarget', () => {
  const rows: Array<[string, ClusterDNS, BaselineSnapshot, ReturnType<typeof shadowTarget>]> = [
    ['kube-dns (any Service not an instance\'s) is CoreDNS', clusterDNS({}), snapshot('10.96.0.10'), { kind: 'address', address: '10.96.0.10', engine: 'coredns' }],
    ['another clusterdns instance', clusterDNS({ baseline: { service: { namespace: 'clusterdns-system', name: 'stable' } } }), snapshot('10.96.0.20'), { kind: 'address', address: '10.96.0.20', engine: 'clusterdns' }],
    ['an engine coredns instance', clusterDNS({ baseline: { service: { namespace: 'clusterdns-system', name: 'old-coredns' } } }), snapshot('10.96.0.30'), { kind: 'address', address: '10.96.0.30', engine: 'coredns' }],
    ['a Service without clusterIP', clusterDNS({}), snapshot('None'), { kind: 'none', why: 'the baseline Service kube-system/kube-dns has no clusterIP' }],
    ['not listed yet', clusterDNS({}), { synced: false, slices: [], service: undefined }, { kind: 'unknown' }],
  ];
  for (const [title, cr, snap, expected] of rows) test(title, () => { assert.deepEqual(shadowTarget(cr, snap, 'clusterdns-system/canary', engineOf), expected); });
});

describe('analyse', () => {
  const recorder = (): AnalysisTracker & { tracked: string[]; forgotten: string[] } => {
    const tracked: string[] = [];
    const forgotten: string[] = [];
    return {
      tracked, forgotten,
      track: (name: string, request: TrackRequest): AnalysisState => { tracked.push(name); return startAnalysis(request.key, new Date(0), undefined); },
      forget: (name: string) => { forgotten.push(name); },
    };
  };
  const config = { namespace: 'clusterdns-system', imageRepository: 'r', corednsImageRepository: 'c' };
  const target = { kind: 'address', address: '10.96.0.10', engine: 'coredns' } as const;

  test('an engine coredns instance with analysis is not collected, says why, and never rolls back', () => {
    const cr = clusterDNS({ engine: 'coredns', version: '1.11.1', analysis: { onMismatch: 'Rollback' } });
    const tracker = recorder();
    const judgement = analyse(tracker, cr, render(cr, config), target, undefined, new Date(1000));
    assert.deepEqual([tracker.tracked, tracker.forgotten], [[], ['canary']]);
    assert.equal(`${judgement?.condition.status}/${judgement?.condition.reason}`, 'Unknown/EngineWithoutShadow');
    assert.equal(judgement?.rollback, undefined);
    assert.equal(judgement?.status.queries, 0);
  });

  test('a clusterdns instance with analysis is collected; without analysis it is forgotten', () => {
    const tracker = recorder();
    const cr = clusterDNS({ analysis: {} });
    assert.equal(analyse(tracker, cr, render(cr, config), target, undefined, new Date(1000))?.condition.reason, 'TooFewQueries');
    assert.equal(analyse(tracker, clusterDNS({}), render(clusterDNS({}), config), target, undefined, new Date(1000)), undefined);
    assert.deepEqual([tracker.tracked, tracker.forgotten], [['canary'], ['canary']]);
  });
});
