/**
 * The analysis as reconcile takes it, from the caches: which address the resolvers shadow
 * (the baseline Service's clusterIP), what to track, and the judgement that status and
 * routing use. The counting itself happens in the collector (analysis-collector.ts).
 *
 * The resolvers are given the baseline's clusterIP, not its endpoints: it stays put while the
 * baseline's pods come and go (endpoints would change the configuration, and roll the pods,
 * at every restart of a baseline pod), and kube-proxy spreads the shadow queries over the
 * baseline's pods as it spreads any client's.
 */
import { ANALYSIS_INTERVAL_MS } from '../api/clusterdns.ts';
import type { AnalysisStatus, ClusterDNS, Engine } from '../api/clusterdns.ts';
import { parseDuration } from '../api/duration.ts';
import { ANALYSIS_RESTART_ANNOTATION } from '../api/names.ts';
import { analysisKey, judge, startAnalysis } from './analysis.ts';
import type { AnalysisState, Judgement } from './analysis.ts';
import type { TrackRequest } from './analysis-collector.ts';
import type { BaselineSnapshot } from './baselines.ts';
import { renderedRevision } from './render.ts';
import type { Manifest } from './render.ts';

/** Why an engine coredns instance with spec.analysis has no analysis (AnswersMatch Unknown). */
export const NO_SHADOW_IN_COREDNS = 'engine coredns has no shadow comparison (CoreDNS has no plugin for it): nothing is counted and nothing rolls back; '
  + 'compare its answers with the baseline by `clusterdns compare` (docs/analysis.md)';

/** What reconcile needs of the collector. */
export interface AnalysisTracker {
  track(name: string, request: TrackRequest): AnalysisState;
  forget(name: string): void;
}

export type ShadowTarget =
  /** The baseline's watch has not listed yet: hold the resolvers' configuration as it is. */
  | { readonly kind: 'unknown' }
  | { readonly kind: 'none'; readonly why: string }
  | { readonly kind: 'address'; readonly address: string; readonly engine: Engine };

/**
 * Where the resolvers of `cr` shadow its baseline, and what the baseline runs:
 * `engineOf(ref)` says it for a Service that is a ClusterDNS instance's; any other Service
 * (kube-dns first of all) is taken to be CoreDNS.
 */
export function shadowTarget(cr: ClusterDNS, snapshot: BaselineSnapshot, ownService: string, engineOf: (ref: string) => Engine | undefined): ShadowTarget {
  const { namespace, name } = cr.spec.baseline.service;
  const ref = `${namespace}/${name}`;
  if (!snapshot.synced) return { kind: 'unknown' };
  if (ref === ownService) return { kind: 'none', why: `spec.baseline.service ${ref} is the instance's own Service` };
  if (!snapshot.service) return { kind: 'none', why: `the baseline Service ${ref} does not exist` };
  const ip = snapshot.service.clusterIP ?? '';
  if (ip === '' || ip === 'None') return { kind: 'none', why: `the baseline Service ${ref} has no clusterIP` };
  return { kind: 'address', address: ip, engine: engineOf(ref) ?? 'coredns' };
}

/** Tracks the analysis of `cr` and judges it; undefined without spec.analysis (and then it is forgotten). */
export function analyse(
  tracker: AnalysisTracker, cr: ClusterDNS, rendered: readonly Manifest[], target: ShadowTarget, recorded: AnalysisStatus | undefined, now: Date,
): Judgement | undefined {
  const name = cr.metadata.name;
  const spec = cr.spec.analysis;
  if (!spec) {
    tracker.forget(name);
    return undefined;
  }
  const podRevision = renderedRevision(rendered);
  const key = analysisKey(podRevision, cr.metadata.annotations?.[ANALYSIS_RESTART_ANNOTATION]);
  const { namespace, name: baseline } = cr.spec.baseline.service;
  const baselineRef = `${namespace}/${baseline}`;
  if (cr.spec.engine === 'coredns') {
    // No pod of it has a summary to collect: nothing is counted, nothing rolls back.
    tracker.forget(name);
    return judge({ spec, state: startAnalysis(key, now, recorded), recorded, baselineRef, now, noShadow: NO_SHADOW_IN_COREDNS });
  }
  const intervalMs = parseDuration(spec.interval) ?? ANALYSIS_INTERVAL_MS.max;
  const state = tracker.track(name, { key, podRevision, intervalMs, recorded });
  return judge({ spec, state, recorded, baselineRef, now, ...(target.kind === 'none' ? { noBaseline: target.why } : {}) });
}
