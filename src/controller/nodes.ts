/**
 * Nodes as the autoscaling formula sees them: shrunk on arrival to the three facts it reads
 * (cordoned or not, Ready or not, allocatable CPU), without labels, annotations, images or
 * addresses, so that the operator's memory grows by a few dozen bytes per node.
 *
 * The counting follows cluster-proportional-autoscaler (kube-dns-autoscaler), whose
 * `GetClusterStatus` sums `status.allocatable.cpu` of every node for the totals, and of the
 * nodes that are neither cordoned (`spec.unschedulable`) nor un-Ready for the schedulable
 * figures; the sums of CPU are rounded up to whole cores, as `Quantity.Value()` does.
 */
import type { RawObject } from '../kube/watcher.ts';

/** A Node as the operator keeps it. */
export interface NodeSize {
  readonly name: string;
  /** `spec.unschedulable` (cordoned). */
  readonly unschedulable: boolean;
  /** The Ready condition is True. */
  readonly ready: boolean;
  /** `status.allocatable.cpu` in millicores (0 when absent or unreadable). */
  readonly milliCPU: number;
}

/** What the formula counts: all nodes, and those that take new pods. */
export interface ClusterSize {
  readonly nodes: number;
  readonly cores: number;
  readonly schedulableNodes: number;
  readonly schedulableCores: number;
}

export const NODES_PATH = '/api/v1/nodes';

interface RawNode {
  metadata?: { name?: string };
  spec?: { unschedulable?: boolean };
  status?: { allocatable?: Record<string, unknown>; conditions?: Array<{ type?: string; status?: string }> };
}

export function shrinkNode(raw: RawObject): NodeSize {
  const node = raw as RawNode;
  const cpu = node.status?.allocatable?.['cpu'];
  return {
    name: node.metadata?.name ?? '',
    unschedulable: node.spec?.unschedulable === true,
    ready: (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True'),
    milliCPU: typeof cpu === 'string' || typeof cpu === 'number' ? milliValue(cpu) : 0,
  };
}

/**
 * What of a node the formula depends on, as one string: the informer compares these instead
 * of resourceVersions, so that a heartbeat or a label change wakes nothing.
 */
export function nodeFingerprint(node: NodeSize): string {
  return `${node.unschedulable ? 'U' : 'S'}${node.ready ? 'R' : 'N'}${node.milliCPU}`;
}

export function clusterSize(nodes: Iterable<NodeSize>): ClusterSize {
  let count = 0;
  let milli = 0;
  let schedulable = 0;
  let schedulableMilli = 0;
  for (const node of nodes) {
    count++;
    milli += node.milliCPU;
    if (!node.unschedulable && node.ready) {
      schedulable++;
      schedulableMilli += node.milliCPU;
    }
  }
  return { nodes: count, cores: Math.ceil(milli / 1000), schedulableNodes: schedulable, schedulableCores: Math.ceil(schedulableMilli / 1000) };
}

const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE]|[eE][+-]?[0-9]+)?$/;
const BINARY: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const DECIMAL: Readonly<Record<string, number>> = { n: 1e-9, u: 1e-6, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/**
 * A resource quantity (`4`, `3500m`, `1.5`, `2k`, `1e3`) in thousandths, rounded up as
 * `Quantity.MilliValue()`; 0 for anything negative or unreadable (the apiserver validates
 * quantities, so that means a node we cannot count, not one to crash on).
 */
export function milliValue(quantity: string | number): number {
  const match = QUANTITY.exec(String(quantity).trim());
  if (!match) return 0;
  const [, sign = '', digits = '0', suffix = ''] = match;
  const scale = BINARY[suffix] ?? DECIMAL[suffix] ?? (suffix ? 10 ** Number(suffix.slice(1)) : 1);
  const value = Number(digits) * scale;
  if (sign === '-' || !Number.isFinite(value)) return 0;
  // Rounding to 9 places first keeps 0.1 * 1000 from becoming 100.00000000000001 and then 101.
  return Math.ceil(Number((value * 1000).toFixed(9)));
}
