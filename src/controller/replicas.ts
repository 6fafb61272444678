/**
 * How many replicas each ClusterDNS gets: spec.replicas, or what spec.autoscaling computes
 * from the Node cache, held up by the scale-down stabilization. The planner is the only part
 * of a reconcile with memory (the stabilization's, per instance, in the leader only: a new
 * leader starts without it and follows the formula at once).
 */
import { replicasPolicy } from '../api/clusterdns.ts';
import type { ClusterDNS } from '../api/clusterdns.ts';
import { linearReplicas, stabilize } from './autoscaling.ts';
import type { ScalingStatus, StabilizerState } from './autoscaling.ts';
import type { Clock } from './clock.ts';
import { clusterSize } from './nodes.ts';
import type { NodeSize } from './nodes.ts';

/** The Node cache as the planner reads it. */
export interface NodeCache {
  readonly synced: boolean;
  list(): readonly NodeSize[];
}

export interface ReplicaPlannerOptions {
  readonly nodes: NodeCache;
  readonly clock: Clock;
  /** How long a lower figure must hold before the replicas go down. */
  readonly downscaleStabilizationMs: number;
}

export interface ReplicaPlan {
  readonly replicas: number;
  /** For the Scaled condition; absent for fixed replicas. */
  readonly scaling?: ScalingStatus;
  /** Reconcile again then: a held scale-down falls due. */
  readonly requeueAfterMs?: number;
  /** What the previous plan of this autoscaled instance gave (for the Rescaled event); absent the first time. */
  readonly previousReplicas?: number;
}

export class ReplicaPlanner {
  private readonly options: ReplicaPlannerOptions;
  private readonly memory = new Map<string, { readonly params: string; readonly state: StabilizerState; readonly replicas: number }>();

  constructor(options: ReplicaPlannerOptions) {
    this.options = options;
  }

  /** `liveReplicas`: the Deployment's spec.replicas, kept while the Nodes are not known yet. */
  plan(cr: ClusterDNS, liveReplicas: number | undefined): ReplicaPlan {
    const { nodes, clock, downscaleStabilizationMs: windowMs } = this.options;
    const name = cr.metadata.name;
    const policy = replicasPolicy(cr.spec);
    if (policy.kind === 'fixed') {
      this.memory.delete(name);
      return { replicas: policy.replicas };
    }
    if (!nodes.synced) {
      const replicas = liveReplicas ?? policy.params.min;
      return { replicas, scaling: { kind: 'nodesUnknown', replicas } };
    }
    const result = linearReplicas(policy.params, clusterSize(nodes.list()));
    const params = JSON.stringify(policy.params);
    const remembered = this.memory.get(name);
    const now = clock.now();
    const stabilized = stabilize(remembered?.params === params ? remembered.state : undefined, result.replicas, now, windowMs);
    this.memory.set(name, { params, state: stabilized.state, replicas: stabilized.replicas });
    const { holdUntil } = stabilized;
    return {
      replicas: stabilized.replicas,
      ...(remembered ? { previousReplicas: remembered.replicas } : {}),
      scaling: { kind: 'computed', params: policy.params, result, replicas: stabilized.replicas, windowMs, ...(holdUntil === undefined ? {} : { holdUntil }) },
      ...(holdUntil === undefined ? {} : { requeueAfterMs: Math.max(1, holdUntil - now) }),
    };
  }

  /** The instance is gone. */
  forget(name: string): void {
    this.memory.delete(name);
  }
}
