/**
 * Replicas that follow the cluster's size: cluster-proportional-autoscaler's "linear" mode
 * (the kube-dns-autoscaler), as pure functions.
 *
 *   replicas = max(ceil(cores / coresPerReplica), ceil(nodes / nodesPerReplica))
 *   replicas = min(replicas, max); replicas = max(replicas, min)
 *   replicas = max(replicas, 2) when preventSinglePointFailure and there is more than one node
 *
 * `nodes` and `cores` are all nodes with `includeUnschedulableNodes`, else the schedulable
 * ones (see nodes.ts). As in the autoscaler (linear_controller.go), the single-point rule
 * comes after the bounds, so it wins over `max: 1`; a term without its parameter is left out.
 *
 * On top of the formula, a scale-down waits (the HPA's downscale stabilization): the replicas
 * are the highest the formula asked for at any moment of the last window, so a node that
 * flaps moves the Deployment up once and not back and forth; a scale-up is immediate.
 */
import type { AutoscalingSpec } from '../api/clusterdns.ts';
import type { ClusterSize } from './nodes.ts';

/** Which rule decided the result (the Scaled condition's reason). */
export type ScaleRule = 'WithinRange' | 'AtMinimum' | 'AtMaximum' | 'PreventSinglePointFailure';

export interface LinearResult {
  readonly replicas: number;
  /** The nodes and cores counted. */
  readonly nodes: number;
  readonly cores: number;
  /** ceil(cores / coresPerReplica), before the bounds; absent without coresPerReplica. */
  readonly byCores?: number;
  readonly byNodes?: number;
  readonly rule: ScaleRule;
}

export function linearReplicas(params: AutoscalingSpec, size: ClusterSize): LinearResult {
  const nodes = params.includeUnschedulableNodes ? size.nodes : size.schedulableNodes;
  const cores = params.includeUnschedulableNodes ? size.cores : size.schedulableCores;
  const byCores = params.coresPerReplica === undefined ? undefined : Math.ceil(cores / params.coresPerReplica);
  const byNodes = params.nodesPerReplica === undefined ? undefined : Math.ceil(nodes / params.nodesPerReplica);
  const proportional = Math.max(byCores ?? 0, byNodes ?? 0);
  const bounded = Math.max(params.min, Math.min(params.max, proportional));
  const terms = { nodes, cores, ...(byCores === undefined ? {} : { byCores }), ...(byNodes === undefined ? {} : { byNodes }) };
  if (params.preventSinglePointFailure && nodes > 1 && bounded < 2) return { replicas: 2, ...terms, rule: 'PreventSinglePointFailure' };
  const rule: ScaleRule = proportional < params.min ? 'AtMinimum' : proportional > params.max ? 'AtMaximum' : 'WithinRange';
  return { replicas: bounded, ...terms, rule };
}

/**
 * What the stabilization remembers of one instance: what the formula asks for now, and the
 * higher values it asked for until some moment (each entry is higher than every later one,
 * so the first is the highest; an entry dominated by a later, higher one is dropped).
 */
export interface StabilizerState {
  readonly current: number;
  readonly earlier: ReadonlyArray<{ readonly replicas: number; readonly until: number }>;
}

export interface Stabilized {
  readonly state: StabilizerState;
  readonly replicas: number;
  /** When the replicas may next go down (a reconcile is due then); absent when they follow the formula. */
  readonly holdUntil?: number;
}

/**
 * Feeds the formula's latest answer in at `now`. Without a previous state the answer is taken
 * as is (the first decision, or one after the parameters changed: a change that the user
 * asked for is not held back).
 */
export function stabilize(previous: StabilizerState | undefined, recommended: number, now: number, windowMs: number): Stabilized {
  const earlier = previous === undefined || previous.current === recommended
    ? [...(previous?.earlier ?? [])]
    : [...previous.earlier, { replicas: previous.current, until: now }];
  const live = earlier.filter((entry) => entry.until + windowMs > now && entry.replicas > recommended);
  const kept = live.filter((entry, i) => live.slice(i + 1).every((later) => later.replicas < entry.replicas));
  const state: StabilizerState = { current: recommended, earlier: kept };
  const highest = kept[0];
  if (!highest) return { state, replicas: recommended };
  return { state, replicas: highest.replicas, holdUntil: highest.until + windowMs };
}

/** What the Scaled condition reports. */
export type ScalingStatus =
  | { readonly kind: 'nodesUnknown'; readonly replicas: number }
  | {
    readonly kind: 'computed';
    readonly params: AutoscalingSpec;
    readonly result: LinearResult;
    /** The replicas applied: the result's, or a higher one held by the stabilization. */
    readonly replicas: number;
    readonly holdUntil?: number;
    readonly windowMs: number;
  };

/** The Scaled condition (present only with spec.autoscaling): status, reason, message. */
export function scaledCondition(scaling: ScalingStatus): { status: 'True' | 'Unknown'; reason: string; message: string } {
  if (scaling.kind === 'nodesUnknown') {
    return {
      status: 'Unknown', reason: 'NodesUnknown',
      message: `the Nodes have not been listed yet (the operator needs list and watch on nodes); keeping ${scaling.replicas} replicas`,
    };
  }
  const formula = formulaText(scaling.params, scaling.result);
  if (scaling.holdUntil !== undefined && scaling.replicas > scaling.result.replicas) {
    return {
      status: 'True', reason: 'ScaleDownStabilized',
      message: `holding ${scaling.replicas} replicas until ${new Date(scaling.holdUntil).toISOString().slice(0, 19)}Z, as the formula asked for `
        + `that many within the last ${Math.round(scaling.windowMs / 1000)} s; it now asks for ${formula}`,
    };
  }
  return { status: 'True', reason: scaling.result.rule, message: formula };
}

/** "3 replicas for 40 nodes and 160 cores: ceil(40 / 16) = 3 by nodes, ceil(160 / 256) = 1 by cores, within min 1 and max 100" */
function formulaText(params: AutoscalingSpec, result: LinearResult): string {
  const counted = params.includeUnschedulableNodes ? '' : 'schedulable ';
  const terms = [
    ...(result.byNodes === undefined ? [] : [`ceil(${result.nodes} / ${params.nodesPerReplica ?? 0}) = ${result.byNodes} by nodes`]),
    ...(result.byCores === undefined ? [] : [`ceil(${result.cores} / ${params.coresPerReplica ?? 0}) = ${result.byCores} by cores`]),
  ];
  const outcome: Record<ScaleRule, string> = {
    WithinRange: `within min ${params.min} and max ${params.max}`,
    AtMinimum: `raised to min ${params.min}`,
    AtMaximum: `capped at max ${params.max}`,
    PreventSinglePointFailure: 'raised to 2 so that more than one node never depends on one replica (preventSinglePointFailure)',
  };
  return `${result.replicas} ${plural(result.replicas, 'replica')} for ${result.nodes} ${counted}${plural(result.nodes, 'node')} and `
    + `${result.cores} ${counted}${plural(result.cores, 'core')}: ${terms.join(', ')}, ${outcome[result.rule]}`;
}

function plural(count: number, word: string): string {
  return count === 1 ? word : `${word}s`;
}
